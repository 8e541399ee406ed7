/**
 * HTTP as an attacker sends it, against a real server: any Host, Origin and Content-Type (which
 * fetch would set or refuse), a client that trickles its request (slow loris), many sockets at once.
 */
import { request } from "node:http";
import { connect, type Socket } from "node:net";

export interface Answer {
  status: number;
  body: string;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request on a fresh connection; the headers are sent as given (Host included). */
export function call(port: number, req: RawRequest = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: "127.0.0.1",
        port,
        method: req.method ?? "GET",
        path: req.path ?? "/",
        headers: { host: `127.0.0.1:${port}`, ...req.headers },
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    r.on("error", reject);
    r.end(req.body);
  });
}

/** An open TCP connection and what the server did with it. */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with the milliseconds from connecting to the server closing the connection. */
  readonly closed: Promise<number>;
}

export async function openConnection(port: number): Promise<RawConnection> {
  const socket = connect(port, "127.0.0.1");
  const start = Date.now();
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  const closed = new Promise<number>((resolve) => {
    socket.on("close", () => resolve(Date.now() - start));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, received: () => text, closed };
}

/**
 * A slow loris: a request line, then one more header line every `everyMs`, never the blank line
 * that ends the headers (or, with `body`, complete headers and then one body byte every `everyMs`).
 * Resolves with the milliseconds until the server closed the connection, or rejects after `giveUpMs`.
 */
export async function slowLoris(
  port: number,
  options: { everyMs: number; giveUpMs: number; body?: boolean },
): Promise<{ closedAfterMs: number; received: string }> {
  const c = await openConnection(port);
  if (options.body) {
    c.socket.write(
      `POST /model HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`,
    );
  } else {
    c.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
  }
  let n = 0;
  const drip = setInterval(() => {
    if (!c.socket.destroyed) c.socket.write(options.body ? " " : `X-Slow-${n++}: a\r\n`);
  }, options.everyMs);
  let giveUp: NodeJS.Timeout | undefined;
  try {
    const closedAfterMs = await Promise.race([
      c.closed,
      new Promise<never>((_, reject) => {
        giveUp = setTimeout(
          () => reject(new Error(`the server kept a slow client for more than ${options.giveUpMs} ms`)),
          options.giveUpMs,
        );
      }),
    ]);
    return { closedAfterMs, received: c.received() };
  } finally {
    clearInterval(drip);
    clearTimeout(giveUp);
    c.socket.destroy();
  }
}

/**
 * `count` connections, each with a request answered (so the server has accepted and counts it),
 * kept open (keep-alive) until the caller destroys them.
 */
export async function heldConnections(port: number, path: string, count: number): Promise<RawConnection[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const c = await openConnection(port);
      c.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      while (!/^HTTP\/1\.1 \d{3}/.test(c.received())) {
        if (c.socket.destroyed) throw new Error(`a held connection was closed: ${c.received()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return c;
    }),
  );
}
