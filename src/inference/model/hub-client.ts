import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { isLoopback } from "../../config/loopback.js";
import { redactError, redactText, redactUrl } from "../../config/redact.js";
import { ConfigError, HubError, UnverifiableDownloadError } from "../../errors/errors.js";
import { gitBlobSha1File } from "./hash.js";
import { DOWNLOAD_IDLE_MS, partPathFor } from "./part-files.js";

/** A file of a revision as the hub's API lists it, with what the list says about its content. */
export interface RepoFile {
  path: string;
  /** Bytes of the content (of the LFS object, for an LFS file). */
  size?: number;
  /** SHA-256 of the content (`lfs.sha256`): LFS files only. */
  sha256?: string;
  /** Git blob SHA-1 of the content (`blobId`): files kept in git itself (an LFS file's blobId is its pointer's). */
  gitSha1?: string;
}

/** A revision as the hub's API describes it: the commit it points at and the repo's files. */
export interface RevisionInfo {
  sha: string;
  files: RepoFile[];
}

export interface HubClientOptions {
  hubUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch | undefined;
  /** A download that receives nothing for this long is given up; default DOWNLOAD_IDLE_MS (tests shorten it). */
  idleMs?: number | undefined;
}

/** What the file must be, and who said so (for the message when it is not). */
interface Expected {
  kind: "sha256" | "sha1" | "size";
  value: string;
  from: string;
}

const fallback = "set model.offline=true to use the cache, or model.dir to use a local export";
const MAX_REDIRECTS = 10;
const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;

/** The hub's ETag headers are quoted, sometimes `W/`-prefixed; returns the bare lowercase value. */
export function bareEtag(header: string | null): string | undefined {
  if (header === null) return undefined;
  return header.trim().replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();
}

/** What the file list says about one file's content; an LFS file's blobId is its pointer's, so it is not used. */
function listedFile(sibling: Record<string, unknown>): RepoFile | undefined {
  if (typeof sibling.rfilename !== "string") return undefined;
  const file: RepoFile = { path: sibling.rfilename };
  const lfs = sibling.lfs;
  const from = typeof lfs === "object" && lfs !== null ? (lfs as Record<string, unknown>) : sibling;
  // `lfs.sha256` in the revision API, `lfs.oid` in the tree API.
  const digest = from === sibling ? sibling.blobId : (from.sha256 ?? from.oid);
  const hex = typeof digest === "string" ? digest.toLowerCase() : "";
  if (from === sibling ? SHA1.test(hex) : SHA256.test(hex)) file[from === sibling ? "gitSha1" : "sha256"] = hex;
  if (typeof from.size === "number" && Number.isSafeInteger(from.size) && from.size >= 0) file.size = from.size;
  return file;
}

/** The digests a response of the hub itself announces (X-Linked-* on the redirect of an LFS file, ETag otherwise). */
function announced(headers: Headers): Expected[] {
  const linked = headers.get("x-linked-etag");
  const [name, tag] = linked ? ["X-Linked-Etag", bareEtag(linked)] : ["ETag", bareEtag(headers.get("etag"))];
  const out: Expected[] = [];
  // Any other ETag (a CDN's MD5, a mirror's own) says nothing checkable.
  if (tag !== undefined && SHA256.test(tag)) out.push({ kind: "sha256", value: tag, from: `the hub's ${name}` });
  if (tag !== undefined && SHA1.test(tag)) out.push({ kind: "sha1", value: tag, from: `the hub's ${name}` });
  const size = headers.get("x-linked-size");
  if (size !== null) out.push({ kind: "size", value: size, from: "the hub's X-Linked-Size" });
  return out;
}

/** The few hub endpoints `huggingface_hub` itself uses to download a snapshot. */
export class HubClient {
  private readonly base: string;
  private readonly origin: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly idleMs: number;

  constructor(options: HubClientOptions) {
    this.base = options.hubUrl.replace(/\/+$/, "");
    const url = new URL(this.base);
    // Also checked with the configuration; here for callers that build options themselves.
    if (url.username !== "" || url.password !== "") {
      throw new ConfigError([
        { path: "model.hubUrl", reason: "must not hold credentials (user:password@): set HF_TOKEN instead" },
      ]);
    }
    // A token given over plain http to another host would cross the network readable: refuse rather than
    // drop it, since a dropped token shows up later as a puzzling 401 from a hub that "has" the repo.
    if (options.token && url.protocol !== "https:" && !isLoopback(url.hostname)) {
      throw new ConfigError([
        {
          path: "model.hubUrl",
          reason: `is plain ${url.protocol}// to ${url.host}, which is not this host, and HF_TOKEN is set: the token would travel unencrypted; use an https URL, or unset HF_TOKEN for this hub`,
        },
      ]);
    }
    this.origin = url.origin;
    this.token = options.token;
    this.fetchImpl = options.fetch ?? fetch;
    this.idleMs = options.idleMs ?? DOWNLOAD_IDLE_MS;
  }

  /**
   * `GET /api/models/{repo}/revision/{revision}?blobs=true`: the commit a branch or tag points at, and
   * the repo's files with their sizes and digests (blobId, lfs.sha256), which huggingface_hub asks for
   * with `files_metadata=True`. A mirror that ignores `blobs` gives names only.
   */
  async revisionInfo(repo: string, revision: string): Promise<RevisionInfo> {
    const url = `${this.base}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const res = await this.request(url, "follow");
    this.check(res, url, `model repo "${repo}" or its revision "${revision}"`);
    const body = (await res.json().catch(() => undefined)) as { sha?: unknown; siblings?: unknown } | undefined;
    const siblings = Array.isArray(body?.siblings) ? (body.siblings as unknown[]) : undefined;
    if (typeof body?.sha !== "string" || !SHA1.test(body.sha) || siblings === undefined) {
      throw new HubError(
        `${redactUrl(url)} did not answer with a commit sha and a file list: check that model.hubUrl (${redactUrl(this.base)}) is a Hugging Face hub or mirror`,
      );
    }
    const files = siblings.flatMap((s) =>
      typeof s === "object" && s !== null ? (listedFile(s as Record<string, unknown>) ?? []) : [],
    );
    return { sha: body.sha, files };
  }

  /**
   * `GET /{repo}/resolve/{commit}/{path}` into `dest`, through a temp file renamed into place once the
   * bytes match every digest and size announced for them: the file list's, the hub's headers' and `pin`
   * (a SHA-256 from configuration). With no digest at all the file is refused (UnverifiableDownloadError)
   * before its body is read. Redirects are followed by hand because the digest of an LFS file
   * (X-Linked-Etag) is only on the hub's redirect to the CDN; the CDN's own headers are not the hub's
   * word, so only the hub's origin is listened to.
   */
  async download(repo: string, commit: string, file: RepoFile, dest: string, pin?: string): Promise<void> {
    const { path } = file;
    let url = `${this.base}/${repo}/resolve/${commit}/${path.split("/").map(encodeURIComponent).join("/")}`;
    const expected: Expected[] = [
      ...(file.sha256
        ? [{ kind: "sha256", value: file.sha256, from: "the hub's file list (lfs.sha256)" } as const]
        : []),
      ...(file.gitSha1 ? [{ kind: "sha1", value: file.gitSha1, from: "the hub's file list (blobId)" } as const] : []),
      ...(file.size !== undefined
        ? [{ kind: "size", value: String(file.size), from: "the hub's file list" } as const]
        : []),
    ];
    const unverifiable = () =>
      new UnverifiableDownloadError(
        `${path} of ${repo}@${commit} from ${redactUrl(this.base)}: the hub gives no digest of it (no X-Linked-Etag or ETag ` +
          "holding a SHA-256 or git blob SHA-1, no lfs.sha256 or blobId in its file list), so it cannot be checked and was " +
          `not downloaded: ${path.endsWith(".onnx") ? "pin the file's SHA-256 in model.sha256, or " : ""}` +
          "use a hub that announces digests, or download and check the model yourself and set model.dir",
      );
    const checkable = () => pin !== undefined || expected.some((e) => e.kind !== "size");
    // Given up after DOWNLOAD_IDLE_MS without a response or a byte: part-files.ts relies on it.
    const idle = new AbortController();
    const timer = setTimeout(() => idle.abort(new Error(`nothing received for ${this.idleMs / 1000} s`)), this.idleMs);
    try {
      let res: Response;
      for (let hops = 0; ; hops++) {
        res = await this.request(url, "manual", idle.signal);
        timer.refresh();
        if (new URL(url).origin === this.origin) {
          expected.push(...announced(res.headers));
          const served = res.headers.get("x-repo-commit");
          if (served !== null && served !== commit) {
            await res.body?.cancel();
            throw new HubError(
              `${redactUrl(this.base)} answered for ${path} of ${repo} from commit ${served}, not from the commit ${commit} asked for: check model.hubUrl`,
            );
          }
        }
        const location = res.headers.get("location");
        if (res.status < 300 || res.status >= 400 || location === null) break;
        await res.body?.cancel();
        if (hops === MAX_REDIRECTS)
          throw new HubError(`too many redirects downloading ${path} from ${redactUrl(this.base)}`);
        try {
          url = new URL(location, url).href;
        } catch {
          throw new HubError(`${redactUrl(url)} redirected to something that is not a URL: check model.hubUrl`);
        }
        // Past the hub's origin nothing announces a digest: refuse before the CDN sends the body.
        if (new URL(url).origin !== this.origin && !checkable()) throw unverifiable();
      }
      // Messages name the URL without its query: a CDN's signed query string does not belong in logs.
      url = url.split("?")[0] ?? url;
      this.check(res, url, `file ${path} in ${repo}@${commit}`);

      // A compressed transfer's Content-Length is not the file's size.
      const length = res.headers.get("content-length");
      if (length !== null && (res.headers.get("content-encoding") ?? "identity") === "identity") {
        expected.push({ kind: "size", value: length, from: "Content-Length" });
      }
      if (!checkable()) {
        await res.body?.cancel();
        throw unverifiable();
      }
      await this.receive(res, url, path, dest, expected, pin, idle.signal, () => timer.refresh());
    } finally {
      clearTimeout(timer);
    }
  }

  /** The body of `res` into a temp file, checked against `expected` and `pin`, then renamed to `dest`. */
  private async receive(
    res: Response,
    url: string,
    path: string,
    dest: string,
    expected: readonly Expected[],
    pin: string | undefined,
    signal: AbortSignal,
    onData: () => void,
  ): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    const temp = partPathFor(dest);
    try {
      const sha256 = createHash("sha256");
      let bytes = 0;
      try {
        if (res.body === null) throw new Error("empty response body");
        await pipeline(
          Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              onData();
              sha256.update(chunk);
              bytes += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(temp, { flags: "wx" }),
          { signal },
        );
      } catch (cause) {
        const why = signal.aborted ? signal.reason : cause;
        throw new HubError(
          `the download of ${redactUrl(url)} broke off after ${bytes} bytes (${redactText((why as Error).message)}): try again; or ${fallback}`,
          { cause: redactError(why), retriable: true },
        );
      }
      const corrupt = (what: string) =>
        new HubError(
          `${path} from ${redactUrl(url)} is corrupt (${what}); nothing was cached: try again; or ${fallback}`,
          { retriable: true },
        );
      const actual = sha256.digest("hex");
      let sha1: string | undefined;
      for (const e of expected) {
        if (e.kind === "size" && Number(e.value) !== bytes)
          throw corrupt(`${bytes} bytes received, ${e.from} says ${e.value}`);
        if (e.kind === "sha256" && e.value !== actual) throw corrupt(`sha256 ${actual}, ${e.from} says ${e.value}`);
        if (e.kind === "sha1") {
          sha1 ??= await gitBlobSha1File(temp);
          if (sha1 !== e.value) throw corrupt(`git blob sha1 ${sha1}, ${e.from} says ${e.value}`);
        }
      }
      if (pin !== undefined && actual !== pin.toLowerCase()) {
        // When the hub's own digests matched, the hub serves another file than the one pinned: no retry helps.
        const vouched = expected.some((e) => e.kind !== "size");
        throw new HubError(
          `${path} from ${redactUrl(url)} has sha256 ${actual}, but model.sha256 pins ${pin}; nothing was cached: ` +
            (vouched
              ? "the hub serves another file than the pinned one: check model.sha256 against model.id and model.revision"
              : "try again; if it persists, the hub serves another file than the pinned one: check model.sha256 against model.id and model.revision"),
          { retriable: !vouched },
        );
      }
      try {
        await rename(temp, dest);
      } catch (cause) {
        // ENOENT: the temp file was swept as stale (part-files.ts) while this process was frozen.
        throw new HubError(
          `cannot move the download of ${path} into ${dest} (${(cause as Error).message}): try again`,
          {
            cause,
            retriable: true,
          },
        );
      }
    } finally {
      await rm(temp, { force: true });
    }
  }

  private async request(url: string, redirect: "follow" | "manual", signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    // The token is for the hub only, never for the CDN it redirects to (nor for its http:// twin).
    if (this.token && new URL(url).origin === this.origin) headers.authorization = `Bearer ${this.token}`;
    try {
      return await this.fetchImpl(url, { headers, redirect, ...(signal ? { signal } : {}) });
    } catch (cause) {
      const why = signal?.aborted ? signal.reason : cause;
      // The cause's message can hold a URL as the hub wrote it in a redirect, credentials included.
      throw new HubError(
        `cannot reach the model hub at ${redactUrl(url)} (${redactText((why as Error).message)}): check the network and model.hubUrl; or ${fallback}`,
        { cause: redactError(why), retriable: true },
      );
    }
  }

  private check(res: Response, url: string, what: string): void {
    if (res.ok) return;
    void res.body?.cancel();
    const status = `${redactUrl(url)} answered ${res.status}`;
    const code = res.headers.get("x-error-code");
    if (res.status === 401 || res.status === 403) {
      // The hub answers 401 for missing repos too, so that private ones stay hidden.
      const hint = this.token
        ? "the token in HF_TOKEN has no access to it (accept the model's terms on the hub, or use another token)"
        : "set HF_TOKEN to a Hugging Face access token (sent as Authorization: Bearer)";
      throw new HubError(`${status}: the ${what} does not exist or is private or gated; check model.id, or ${hint}`);
    }
    if (res.status === 404) {
      const which = code === "RepoNotFound" ? "the repo" : code === "RevisionNotFound" ? "the revision" : "it";
      throw new HubError(
        `${status}: the ${what} does not exist (${which} was not found): check model.id and model.revision`,
      );
    }
    if (res.status === 429 || res.status >= 500) {
      throw new HubError(`${status}: the hub is failing or rate-limiting; try again later, or ${fallback}`, {
        retriable: true,
      });
    }
    throw new HubError(`${status} for the ${what}: unexpected answer; check model.hubUrl`);
  }
}
