/**
 * What a Kafka source does when a stop (SIGTERM) or a rebalance begins: no new chunk is handed to
 * the pipeline, and the chunks in flight get `drainTimeoutMs` to finish before their signal
 * aborts them (abandoned uncommitted, read again later). kafkajs rejoins a group, and leaves it on
 * a stop, only once every `eachBatch` has returned, so this is what bounds a rebalance and a
 * shutdown: without it a member worked through a whole fetched backlog first (68 s on a CPU model).
 */

import { setMaxListeners } from "node:events";

export class Drain {
  private controller = listenable(new AbortController());
  private generation = 0;
  private draining = false;

  constructor(private readonly timeoutMs: number) {}

  /** The signal of the chunks handed out now: it aborts `timeoutMs` after the drain began. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Changes whenever a new group generation begins: a batch of an older one must hand out no more chunks. */
  get current(): number {
    return this.generation;
  }

  /** A stop or rebalance began: hand out nothing new; abort what is in flight after the timeout. */
  begin(reason: string): void {
    if (this.draining) return;
    this.draining = true;
    const controller = this.controller;
    const timer = setTimeout(
      () => controller.abort(new Error(`${reason}: batches in flight abandoned after ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    timer.unref();
  }

  /** A new generation joined: its chunks run to completion (an older chunk keeps its own deadline). */
  joined(): void {
    this.generation++;
    this.draining = false;
    this.controller = listenable(new AbortController());
  }

  /** Whether a batch read in `generation` may hand the pipeline another chunk. */
  mayContinue(generation: number): boolean {
    return !this.draining && generation === this.generation;
  }
}

/** Every chunk in flight listens to its generation's one signal: more than Node's default 10 is normal. */
function listenable(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}
