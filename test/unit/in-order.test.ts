/** The in-order writer of the file pipeline: submission order out, a bounded window, failures surfaced. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { InOrder } from "../../src/pipeline/in-order.js";

describe("InOrder", () => {
  it("writes results in submission order whatever order they finish in", async () => {
    const written: number[] = [];
    const out = new InOrder<number>((v) => {
      written.push(v);
    }, 10);
    const delays = [30, 5, 20, 0, 10];
    for (const [i, ms] of delays.entries()) await out.push(sleep(ms).then(() => i));
    await out.flush();
    assert.deepEqual(written, [0, 1, 2, 3, 4]);
  });

  it("writes a finished result at once, without waiting for later ones", async () => {
    const written: number[] = [];
    const out = new InOrder<number>((v) => {
      written.push(v);
    }, 10);
    await out.push(Promise.resolve(1));
    let release: (v: number) => void = () => {};
    await out.push(new Promise<number>((r) => (release = r)));
    await sleep(5);
    assert.deepEqual(written, [1]);
    release(2);
    await out.flush();
    assert.deepEqual(written, [1, 2]);
  });

  it("holds the submitter while `window` results are outstanding", async () => {
    const out = new InOrder<number>(() => {}, 2);
    const gates: Array<(v: number) => void> = [];
    const gate = () => new Promise<number>((r) => gates.push(r));
    await out.push(gate());
    await out.push(gate());
    let third = false;
    const pushing = out.push(gate()).then(() => {
      third = true;
    });
    await sleep(5);
    assert.equal(third, false, "a third outstanding result waits");
    gates[0]?.(0);
    await pushing;
    assert.equal(third, true);
    gates[1]?.(1);
    gates[2]?.(2);
    await out.flush();
  });

  it("rejects later pushes and the flush with the first failure, in order", async () => {
    const written: number[] = [];
    const out = new InOrder<number>((v) => {
      written.push(v);
    }, 10);
    await out.push(Promise.resolve(1));
    await out.push(Promise.reject(new Error("inference failed")));
    await out.push(Promise.resolve(3)).catch(() => {});
    await assert.rejects(out.flush(), /inference failed/);
    assert.deepEqual(written, [1]);
    await assert.rejects(out.push(Promise.resolve(4)), /inference failed/);
  });
});
