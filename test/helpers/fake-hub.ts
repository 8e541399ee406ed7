/**
 * A local stand-in for the Hugging Face hub, enough for `resolveModel`: the revision API, resolve URLs with
 * the hub's integrity headers, the redirect of LFS files to a CDN, and faults to inject.
 *
 *   GET /api/models/{repo}/revision/{rev}  -> {id, sha, siblings: [{rfilename}]}; rev is "main" or the sha
 *   GET /{repo}/resolve/{rev}/{path}       -> git files (<= 1 KB, not .onnx): 200, ETag "<git blob sha1>"
 *                                             LFS files: 302 to /cdn/..., X-Linked-Etag "<sha256>", X-Linked-Size
 *   GET /cdn/{repo}/{sha}/{path}           -> the LFS content, with an unrelated ETag like a real CDN's
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
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
  /** Answer every request with 500. */
  serverError?: boolean;
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

export function repoSha(repo: FakeRepo): string {
  return repo.sha ?? createHash("sha1").update(Object.keys(repo.files).sort().join("\n")).digest("hex");
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const hub: Omit<FakeHub, "url" | "close"> = { requests: [], authorizations: [], faults: {} };

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
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ id: repoId, sha, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) }),
      );
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
    if (isLfs(file, content)) {
      res.writeHead(302, {
        location: `/cdn/${repoId}/${sha}/${file}`,
        "x-linked-etag": `"${createHash("sha256").update(content).digest("hex")}"`,
        "x-linked-size": String(content.length),
      });
      res.end();
      return;
    }
    // The hub sends weak ETags for some git files; the client must accept both forms.
    const etag = file.endsWith(".json") ? `W/"${gitBlobSha1(content)}"` : `"${gitBlobSha1(content)}"`;
    sendContent(req, res, file, content, { etag });
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(hub, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  });
}
