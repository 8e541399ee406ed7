/** JSON lines to a file or a standard stream, waiting for the stream to drain (backpressure). */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { serializeJson } from "../events/serialize-event.js";

export class JsonLinesSink {
  private constructor(
    private readonly stream: Writable,
    private readonly owned: boolean,
  ) {}

  /** `-` is stdout, `""` stderr, anything else a file (created or truncated). */
  static open(path: string): JsonLinesSink {
    if (path === "-") return new JsonLinesSink(process.stdout, false);
    if (path === "") return new JsonLinesSink(process.stderr, false);
    return new JsonLinesSink(createWriteStream(path), true);
  }

  async write(value: unknown): Promise<void> {
    // serializeJson: a passthrough input may hold numbers that JSON.stringify cannot print exactly.
    if (!this.stream.write(`${serializeJson(value)}\n`)) await once(this.stream, "drain");
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    this.stream.end();
    await once(this.stream, "finish");
  }
}
