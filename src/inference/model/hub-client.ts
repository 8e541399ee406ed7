import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { redactUrl } from "../../config/redact.js";
import { HubError } from "../../errors/errors.js";
import { gitBlobSha1File } from "./hash.js";

/** A revision as the hub's API describes it: the commit it points at and the repo's file list. */
export interface RevisionInfo {
  sha: string;
  files: string[];
}

export interface HubClientOptions {
  hubUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch | undefined;
}

const fallback = "set model.offline=true to use the cache, or model.dir to use a local export";
const MAX_REDIRECTS = 10;

/** Repo ids are `org/name` (or a bare legacy `name`); anything else could escape the cache directory. */
export function isRepoId(id: string): boolean {
  return /^(?:[\w.-]+\/)?[\w.-]+$/.test(id) && !id.split("/").some((part) => part === "." || part === "..");
}

/** The hub's ETag headers are quoted, sometimes `W/`-prefixed; returns the bare lowercase value. */
export function bareEtag(header: string | null): string | undefined {
  if (header === null) return undefined;
  return header.trim().replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();
}

/** The few hub endpoints `huggingface_hub` itself uses to download a snapshot. */
export class HubClient {
  private readonly base: string;
  private readonly origin: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: HubClientOptions) {
    this.base = options.hubUrl.replace(/\/+$/, "");
    this.origin = new URL(this.base).origin;
    this.token = options.token;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** `GET /api/models/{repo}/revision/{revision}`: resolves a branch or tag to its commit. */
  async revisionInfo(repo: string, revision: string): Promise<RevisionInfo> {
    const url = `${this.base}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
    const res = await this.request(url, "follow");
    this.check(res, url, `model repo "${repo}" or its revision "${revision}"`);
    const body = (await res.json().catch(() => undefined)) as { sha?: unknown; siblings?: unknown } | undefined;
    const siblings = Array.isArray(body?.siblings) ? (body.siblings as { rfilename?: unknown }[]) : undefined;
    if (typeof body?.sha !== "string" || !/^[0-9a-f]{40}$/.test(body.sha) || siblings === undefined) {
      throw new HubError(
        `${redactUrl(url)} did not answer with a commit sha and a file list: check that model.hubUrl (${redactUrl(this.base)}) is a Hugging Face hub or mirror`,
      );
    }
    const files = siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === "string");
    return { sha: body.sha, files };
  }

  /**
   * `GET /{repo}/resolve/{commit}/{path}` into `dest`, checked against the hub's digest and size, through
   * a temp file renamed into place: a failed or interrupted download never leaves a file at `dest`.
   * Redirects are followed by hand because the digest of an LFS file (X-Linked-Etag) is only on the
   * hub's redirect to the CDN, whose own ETag means something else.
   */
  async download(repo: string, commit: string, path: string, dest: string): Promise<void> {
    let url = `${this.base}/${repo}/resolve/${commit}/${path.split("/").map(encodeURIComponent).join("/")}`;
    let linkedEtag: string | undefined;
    let linkedSize: string | undefined;
    let res: Response;
    for (let hops = 0; ; hops++) {
      res = await this.request(url, "manual");
      linkedEtag ??= res.headers.get("x-linked-etag") ?? undefined;
      linkedSize ??= res.headers.get("x-linked-size") ?? undefined;
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || location === null) break;
      await res.body?.cancel();
      if (hops === MAX_REDIRECTS)
        throw new HubError(`too many redirects downloading ${path} from ${redactUrl(this.base)}`);
      url = new URL(location, url).href;
    }
    // Messages name the URL without its query: a CDN's signed query string does not belong in logs.
    url = url.split("?")[0] ?? url;
    this.check(res, url, `file ${path} in ${repo}@${commit}`);

    const digest = bareEtag(linkedEtag ?? res.headers.get("etag"));
    // A compressed transfer's Content-Length is not the file's size.
    const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
    const sizes = [linkedSize, encoded ? null : res.headers.get("content-length")].filter((s) => s != null);

    await mkdir(dirname(dest), { recursive: true });
    const temp = join(dirname(dest), `.${randomBytes(6).toString("hex")}.part`);
    try {
      const sha256 = createHash("sha256");
      let bytes = 0;
      try {
        if (res.body === null) throw new Error("empty response body");
        await pipeline(
          Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              sha256.update(chunk);
              bytes += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(temp, { flags: "wx" }),
        );
      } catch (cause) {
        throw new HubError(
          `the download of ${redactUrl(url)} broke off after ${bytes} bytes (${(cause as Error).message}): try again; or ${fallback}`,
          {
            cause,
            retriable: true,
          },
        );
      }
      const corrupt = (what: string) =>
        new HubError(
          `${path} from ${redactUrl(url)} is corrupt (${what}); nothing was cached: try again; or ${fallback}`,
          {
            retriable: true,
          },
        );
      for (const size of sizes) {
        if (Number(size) !== bytes) throw corrupt(`${bytes} bytes received, the hub announced ${size}`);
      }
      if (digest !== undefined && /^[0-9a-f]{64}$/.test(digest)) {
        const actual = sha256.digest("hex");
        if (actual !== digest) throw corrupt(`sha256 ${actual}, the hub announced ${digest}`);
      } else if (digest !== undefined && /^[0-9a-f]{40}$/.test(digest)) {
        const actual = await gitBlobSha1File(temp);
        if (actual !== digest) throw corrupt(`git blob sha1 ${actual}, the hub announced ${digest}`);
      }
      await rename(temp, dest);
    } finally {
      await rm(temp, { force: true });
    }
  }

  private async request(url: string, redirect: "follow" | "manual"): Promise<Response> {
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    // The token is for the hub only, never for the CDN it redirects to.
    if (this.token && new URL(url).origin === this.origin) headers.authorization = `Bearer ${this.token}`;
    try {
      return await this.fetchImpl(url, { headers, redirect });
    } catch (cause) {
      throw new HubError(
        `cannot reach the model hub at ${redactUrl(url)} (${(cause as Error).message}): check the network and model.hubUrl; or ${fallback}`,
        { cause, retriable: true },
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
