/** A redis-server of a test's own on a free port, so the test can stop and restart it by pid. */

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

/** A redis-server of our own, so the test can stop and restart it. */
export class OwnRedis {
  private child: ChildProcess | undefined;
  /** `password`: the server asks for it (`requirepass`); `url` leaves it out, `urlWithPassword` has it. */
  constructor(
    readonly port: number,
    private readonly password?: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get urlWithPassword(): string {
    return this.password === undefined ? this.url : `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      "redis-server",
      [
        ...["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ...(this.password === undefined ? [] : ["--requirepass", this.password]),
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    const probe = new Redis(this.urlWithPassword, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on("error", () => {});
    try {
      for (let i = 0; i < 50; i++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          probe.disconnect();
          await sleep(100);
        }
      }
      throw new Error(`redis-server on port ${this.port} did not start`);
    } finally {
      probe.disconnect();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGKILL");
    await once(child, "exit");
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Starts a redis-server of the test's own. */
export async function startRedis(options: { port?: number; password?: string } = {}): Promise<OwnRedis> {
  const server = new OwnRedis(options.port ?? (await freePort()), options.password);
  await server.start();
  return server;
}
