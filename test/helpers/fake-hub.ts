/**
 * A local stand-in for the Hugging Face hub, enough for `resolveModel`: the revision API, resolve URLs with
 * the hub's integrity headers, the redirect of LFS files to a CDN, and faults to inject.
 *
 *   GET /api/models/{repo}/revision/{rev}  -> {id, sha, siblings: [{rfilename}]}; rev is "main" or the sha;
 *                                             with ?blobs=true each sibling also has size and blobId (git blob
 *                                             sha1; of the LFS pointer for LFS files) and, for LFS files,
 *                                             lfs: {sha256, size, pointerSize}, as the hub's API does
 *   GET /{repo}/resolve/{rev}/{path}       -> git files (<= 1 KB, not .onnx): 200, ETag "<git blob sha1>"
 *                                             LFS files: 302 to /cdn/..., X-Linked-Etag "<sha256>", X-Linked-Size
 *                                             both with X-Repo-Commit: the commit, as huggingface_hub expects
 *   GET /cdn/{repo}/{sha}/{path}           -> the LFS content, with an unrelated ETag like a real CDN's
 *
 * The CDN is this same server (the hub's own origin) or, with `faults.crossOriginCdn`, the same handler
 * on a second port: another origin, as a real CDN is.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRepo {
  /** The commit every revision resolves to; default: derived from the file names. */
  sha?: string;
  /** Path in the repo -> content. */
  files: Record<string, string | Uint8Array>;
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401, like a private repo). */
  token?: string;
}

export interface FakeHubFaults {
  /** Serve this file with one byte flipped (headers still describe the right content). */
  corrupt?: string | undefined;
  /** Send half of this file, then cut the connection. */
  truncate?: string | undefined;
  /** Send half of this file, then nothing more, keeping the connection open. */
  stall?: string | undefined;
  /** Answer every request with 500. */
  serverError?: boolean;
  /** Serve this file with no digest anywhere: no ETag or X-Linked-Etag, nothing but its name in the file list. */
  noDigest?: string | undefined;
  /** Serve this file without ETag or X-Linked-Etag, but keep its digests in the file list. */
  noDigestHeaders?: string | undefined;
  /** Redirect this file to the CDN through a URL with credentials in it (user:s3cret@). */
  credentialsInRedirect?: string | undefined;
  /** Send this X-Repo-Commit instead of the commit asked for. */
  wrongCommit?: string | undefined;
  /** Redirect LFS files to the CDN on a second port: another origin than the hub's. */
  crossOriginCdn?: boolean;
}

export interface FakeHub {
  url: string;
  /** "GET /path" of every request received, in order. */
  requests: string[];
  /** Authorization header of every request, in order (undefined when absent). */
  authorizations: (string | undefined)[];
  faults: FakeHubFaults;
  close(): Promise<void>;
}

export function isLfs(path: string, content: Uint8Array): boolean {
  return content.length > 1024 || path.endsWith(".onnx");
}

export function gitBlobSha1(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** The git LFS pointer that git stores in place of an LFS file: its sha1 is the file's blobId on the hub. */
function lfsPointer(content: Uint8Array): Buffer {
  const oid = createHash("sha256").update(content).digest("hex");
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${content.length}\n`);
}

/** A sibling of the revision API, with `blobs=true` the way the hub describes a file. */
function sibling(path: string, content: Uint8Array, blobs: boolean, hideDigest: boolean): Record<string, unknown> {
  if (!blobs || hideDigest) return { rfilename: path };
  if (!isLfs(path, content)) return { rfilename: path, size: content.length, blobId: gitBlobSha1(content) };
  const pointer = lfsPointer(content);
  return {
    rfilename: path,
    size: content.length,
    blobId: gitBlobSha1(pointer),
    lfs: {
      sha256: createHash("sha256").update(content).digest("hex"),
      size: content.length,
      pointerSize: pointer.length,
    },
  };
}

export function repoSha(repo: FakeRepo): string {
  return repo.sha ?? createHash("sha1").update(Object.keys(repo.files).sort().join("\n")).digest("hex");
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const hub: Omit<FakeHub, "url" | "close"> = { requests: [], authorizations: [], faults: {} };
  let cdnPort = 0;

  function notFound(res: ServerResponse, code: string, message: string): void {
    res.writeHead(404, { "content-type": "application/json", "x-error-code": code });
    res.end(JSON.stringify({ error: message }));
  }

  function sendContent(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    content: Uint8Array,
    headers: Record<string, string>,
  ) {
    let body = Buffer.from(content);
    if (hub.faults.corrupt === path) {
      body = Buffer.from(body);
      body[0] = (body[0] ?? 0) ^ 0xff;
    }
    res.writeHead(200, { "content-length": String(content.length), ...headers });
    if (hub.faults.truncate === path) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => req.socket.destroy());
      return;
    }
    if (hub.faults.stall === path) {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      return;
    }
    res.end(body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://hub");
    const path = decodeURIComponent(url.pathname);
    hub.requests.push(`${req.method} ${url.pathname}`);
    hub.authorizations.push(req.headers.authorization);
    if (hub.faults.serverError) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("Internal Error");
      return;
    }

    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(url.pathname);
    const cdn = /^\/cdn\/(.+)\/([0-9a-f]{40})\/(.+)$/.exec(path);
    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repoId = api?.[1] ?? cdn?.[1] ?? resolve?.[1];
    const repo = repoId === undefined ? undefined : repos[repoId];
    if (repoId === undefined || repo === undefined) {
      notFound(res, "RepoNotFound", "Repository not found");
      return;
    }
    if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}` && !cdn) {
      res.writeHead(401, { "x-error-code": "RepoNotFound" });
      res.end("Invalid credentials");
      return;
    }
    const sha = repoSha(repo);
    const rev = decodeURIComponent(api?.[2] ?? cdn?.[2] ?? resolve?.[2] ?? "");
    if (rev !== "main" && rev !== sha) {
      notFound(res, "RevisionNotFound", "Invalid rev id");
      return;
    }

    if (api) {
      const blobs = url.searchParams.get("blobs") === "true";
      const siblings = Object.entries(repo.files).map(([path, raw]) =>
        sibling(path, typeof raw === "string" ? Buffer.from(raw) : raw, blobs, hub.faults.noDigest === path),
      );
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: repoId, sha, siblings }));
      return;
    }
    const file = cdn?.[3] ?? resolve?.[3] ?? "";
    const raw = repo.files[file];
    if (raw === undefined) {
      notFound(res, "EntryNotFound", "Entry not found");
      return;
    }
    const content = typeof raw === "string" ? Buffer.from(raw) : raw;
    if (cdn) {
      sendContent(req, res, file, content, { etag: `"${createHash("md5").update(content).digest("hex")}"` });
      return;
    }
    const commit = { "x-repo-commit": hub.faults.wrongCommit ?? sha };
    const noDigest = hub.faults.noDigest === file || hub.faults.noDigestHeaders === file;
    const port = req.socket.localPort ?? 0;
    if (isLfs(file, content) || hub.faults.credentialsInRedirect === file) {
      const cdnPath = `/cdn/${repoId}/${sha}/${file}`;
      const location =
        hub.faults.credentialsInRedirect === file
          ? `http://user:s3cret@127.0.0.1:${port}${cdnPath}`
          : hub.faults.crossOriginCdn
            ? `http://127.0.0.1:${cdnPort}${cdnPath}`
            : cdnPath;
      res.writeHead(302, {
        location,
        ...commit,
        ...(noDigest
          ? {}
          : {
              "x-linked-etag": `"${createHash("sha256").update(content).digest("hex")}"`,
              "x-linked-size": String(content.length),
            }),
      });
      res.end();
      return;
    }
    // The hub sends weak ETags for some git files; the client must accept both forms.
    const etag = file.endsWith(".json") ? `W/"${gitBlobSha1(content)}"` : `"${gitBlobSha1(content)}"`;
    sendContent(req, res, file, content, { ...commit, ...(noDigest ? {} : { etag }) });
  }

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  };
  const close = (server: Server) =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    });
  const server = createServer(handle);
  const cdnServer = createServer(handle);
  const port = await listen(server);
  cdnPort = await listen(cdnServer);
  return Object.assign(hub, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await Promise.all([close(server), close(cdnServer)]);
    },
  });
}
