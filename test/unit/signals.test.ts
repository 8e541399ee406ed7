/**
 * The signal lifecycle of `run` and `replay` (src/cli/signals.ts) on a fake process: what a signal
 * does during start-up, after it, a second time, and after the stop.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { handleStopSignals, SIGNAL_EXIT_CODES, type SignalTarget, type StopSignal } from "../../src/cli/signals.js";

class FakeProcess extends EventEmitter implements SignalTarget {
  exits: number[] = [];
  exitCode: number | undefined;
  override on(signal: StopSignal, listener: () => void): this {
    return super.on(signal, listener);
  }
  override off(signal: StopSignal, listener: () => void): this {
    return super.off(signal, listener);
  }
  exit(code: number): void {
    this.exits.push(code);
  }
}

/** A thread load that ends when the test says so. */
function loading(): { threadsLoaded: () => Promise<void>; done: () => void } {
  let done: () => void = () => {};
  const loaded = new Promise<void>((resolve) => {
    done = resolve;
  });
  return { threadsLoaded: () => loaded, done };
}

function lifecycle(target: FakeProcess, options: Partial<Parameters<typeof handleStopSignals>[0]> = {}) {
  const logs: string[] = [];
  const signals = handleStopSignals({
    stoppedExitCode: (signal) => SIGNAL_EXIT_CODES[signal],
    log: (level, message) => logs.push(`${level}: ${message}`),
    target,
    threadsLoaded: () => Promise.resolve(),
    startUpExitWaitMs: 50,
    lingerMs: 20,
    ...options,
  });
  return { signals, logs };
}

describe("the stop signals of run and replay", () => {
  it("exits during start-up with the stop's status, but only once no thread is loading", async () => {
    const target = new FakeProcess();
    const load = loading();
    const { signals, logs } = lifecycle(target, { threadsLoaded: load.threadsLoaded, startUpExitWaitMs: 10_000 });
    target.emit("SIGTERM");
    await sleep(20);
    assert.deepEqual(target.exits, [], "not while a thread loads its model (that aborts the process)");
    target.emit("SIGINT"); // already on its way out: changes nothing
    load.done();
    await sleep(5);
    assert.deepEqual(target.exits, [143]);
    assert.deepEqual(logs, ["info: signal during start-up: exiting"]);
    signals.dispose();
  });

  it("exits during start-up after the bounded wait when a thread load hangs", async () => {
    const target = new FakeProcess();
    const { signals } = lifecycle(target, { threadsLoaded: () => new Promise(() => {}), stoppedExitCode: () => 0 });
    target.emit("SIGINT");
    await sleep(100);
    assert.deepEqual(target.exits, [0]);
    signals.dispose();
  });

  it("asks for a stop on the first signal after start-up, and exits at once with 128 + n on a second", async () => {
    const target = new FakeProcess();
    const { signals, logs } = lifecycle(target, { stoppedExitCode: () => 0 });
    signals.started();
    assert.equal(signals.received, undefined);
    target.emit("SIGINT");
    assert.equal(await signals.requested, "SIGINT");
    assert.equal(signals.received, "SIGINT");
    await sleep(5);
    assert.deepEqual(target.exits, [], "the first signal only asks");
    target.emit("SIGTERM");
    await sleep(5);
    assert.deepEqual(target.exits, [143]);
    assert.match(logs.at(-1) ?? "", /^warn: second signal/);
    signals.dispose();
  });

  it("sets the status of a signalled stop once finished, keeps a failure's, and exits if a handle holds on", async () => {
    const stopped = new FakeProcess();
    const a = lifecycle(stopped);
    a.signals.started();
    stopped.emit("SIGTERM");
    await a.signals.requested;
    a.signals.finished();
    assert.equal(stopped.exitCode, 143, "replay's status of a stop");
    await sleep(60);
    assert.deepEqual(stopped.exits, [143], "still held after the linger: exits with the status");
    assert.match(a.logs.at(-1) ?? "", /still held the process/);
    a.signals.dispose();

    const failed = new FakeProcess();
    failed.exitCode = 1;
    const b = lifecycle(failed);
    b.signals.started();
    failed.emit("SIGTERM");
    b.signals.finished();
    assert.equal(failed.exitCode, 1, "a failure's status wins");
    b.signals.dispose();

    const ended = new FakeProcess();
    const c = lifecycle(ended);
    c.signals.started();
    c.signals.finished();
    assert.equal(ended.exitCode, undefined, "no signal: no status set");
    await sleep(60);
    assert.deepEqual(ended.exits, [0]);
    c.signals.dispose();
  });

  it("stops listening when disposed", () => {
    const target = new FakeProcess();
    const { signals } = lifecycle(target);
    assert.equal(target.listenerCount("SIGTERM"), 1);
    assert.equal(target.listenerCount("SIGINT"), 1);
    signals.dispose();
    assert.equal(target.listenerCount("SIGTERM") + target.listenerCount("SIGINT"), 0);
  });
});
