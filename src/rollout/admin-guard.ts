/**
 * Who may call the admin endpoints, checked before any route. A page in a browser on the same
 * host can reach a loopback port: cross-site (its Origin is its own site) or by DNS rebinding (its
 * own name resolves to 127.0.0.1, so the browser thinks it is same-origin, and the Host header
 * carries that name). Neither can attach a bearer token, nor send `Content-Type: application/json`
 * across sites without a CORS preflight, which this server never grants. In order:
 *
 *   421  a Host that is not localhost, 127.0.0.1, [::1], rollout.adminHost or one of
 *        rollout.adminAllowedHosts (any Host with a token and no list: the token guards)
 *   403  an Origin header other than the server's own (`http://<Host>`)
 *   401  no token, or another one, when rollout.adminToken is set
 *   415  a POST or PUT whose Content-Type is not application/json (`; charset=utf-8` allowed):
 *        the types an HTML form or a no-cors fetch can send from any site
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface AdminAccess {
  /** The address the server is bound to (rollout.adminHost). */
  readonly host: string;
  readonly token?: string | undefined;
  /** rollout.adminAllowedHosts. */
  readonly allowedHosts?: readonly string[] | undefined;
}

export interface Refusal {
  readonly status: 401 | 403 | 415 | 421;
  readonly error: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];
const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;

/** The name in a Host header, lower case, without its port or an IPv6 address's brackets. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d+)?$/.exec(h);
  if (bracketed) return bracketed[1];
  const named = /^([^:\s]+?)\.?(?::\d+)?$/.exec(h);
  return named ? named[1] : undefined;
}

/** Digests compared, not the strings: equal lengths for timingSafeEqual, and no early exit on a prefix. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

export class AdminGuard {
  private readonly token: Buffer | undefined;
  /** Host names answered; undefined: any (a token is set and no list is). */
  private readonly hosts: ReadonlySet<string> | undefined;

  constructor(access: AdminAccess) {
    this.token = access.token === undefined ? undefined : digest(access.token);
    const listed = access.allowedHosts ?? [];
    this.hosts =
      this.token !== undefined && listed.length === 0
        ? undefined
        : new Set([...LOOPBACK_NAMES, access.host, ...listed].map((h) => hostName(h) ?? h.toLowerCase()));
  }

  /** Why the request is refused, or undefined when it may go on to its route. */
  check(request: IncomingMessage): Refusal | undefined {
    const host = request.headers.host ?? "";
    if (this.hosts) {
      const name = hostName(host);
      if (name === undefined || !this.hosts.has(name)) {
        return {
          status: 421,
          error:
            "this admin endpoint does not answer to that Host: call it as localhost, 127.0.0.1, [::1] or rollout.adminHost, or list the name in rollout.adminAllowedHosts",
        };
      }
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== `http://${host.toLowerCase()}`) {
      return { status: 403, error: "requests from web pages are refused: this admin endpoint is for curl and scripts" };
    }
    if (this.token && !this.authorized(request, this.token)) {
      return {
        status: 401,
        error: "this admin endpoint needs Authorization: Bearer <rollout.adminToken>",
        headers: { "www-authenticate": 'Bearer realm="sentiment-worker admin"' },
      };
    }
    const method = request.method ?? "GET";
    if ((method === "POST" || method === "PUT") && !JSON_TYPE.test(request.headers["content-type"] ?? "")) {
      return { status: 415, error: "send Content-Type: application/json" };
    }
    return undefined;
  }

  private authorized(request: IncomingMessage, expected: Buffer): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    return match !== null && timingSafeEqual(digest(match[1] as string), expected);
  }
}
