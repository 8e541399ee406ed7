/**
 * The thread's side of `worker-channel.ts`: load once, then answer requests one at a time in
 * arrival order, each with its result (and the buffers to transfer) or its error's message; what
 * may start before the requests ahead are answered starts on arrival (`arrived`).
 */
import type { MessagePort } from "node:worker_threads";
import { errorMessageWithCauses } from "../errors/error-message.js";
import type { WorkerReply, WorkerRequest } from "./worker-channel.js";

export interface Served<Q, R> {
  /**
   * Called as a request arrives, before those ahead of it are answered: work that may start at
   * once (a batch handed to a device with a queue of its own). Must not throw.
   */
  arrived?(request: Q): void;
  handle(request: Q): Promise<{ result: R; transfer?: ArrayBuffer[] }> | { result: R; transfer?: ArrayBuffer[] };
  close(): Promise<void> | void;
  /** Sent with "loaded": plain data about what was loaded. */
  info?: unknown;
}

export async function serveRequests<Q, R>(
  port: MessagePort,
  load: () => Promise<Served<Q, R>> | Served<Q, R>,
  /** How a load error is said (default: its message with its causes). */
  loadMessage: (error: unknown) => string = errorMessageWithCauses,
): Promise<void> {
  const post = (reply: WorkerReply<R>, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  let served: Served<Q, R>;
  try {
    served = await load();
  } catch (error) {
    post({ type: "load-failed", message: loadMessage(error) });
    port.close();
    return;
  }
  post({ type: "loaded", info: served.info });
  const handle = async (message: Exclude<WorkerRequest<Q>, { type: "exit" }>): Promise<void> => {
    if (message.type === "close") {
      await served.close();
      post({ type: "closed" });
      port.close();
      return;
    }
    try {
      const { result, transfer } = await served.handle(message.request);
      post({ type: "result", id: message.id, result }, transfer);
    } catch (error) {
      post({ type: "failed", id: message.id, message: errorMessageWithCauses(error) });
    }
  };
  let queue = Promise.resolve();
  let exitOnRequest: number | undefined;
  port.on("message", (message: WorkerRequest<Q>) => {
    // Tests only: a crash, not queued behind the requests (which then fail).
    if (message.type === "exit") {
      if (message.midRequest) exitOnRequest = message.code;
      else process.exit(message.code);
      return;
    }
    if (exitOnRequest !== undefined && message.type === "run") process.exit(exitOnRequest);
    if (message.type === "run") served.arrived?.(message.request);
    queue = queue.then(() => handle(message));
  });
}
