/** The benchmarks' shared statistics: every table in docs/benchmarks.md is computed by these. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bracketed,
  fmt,
  fmtMedianRange,
  fmtRange,
  markdownTable,
  median,
  pairedRatios,
  percentile,
  percentiles,
  spread,
  targetsTable,
  verdict,
} from "../../bench/stats.js";

describe("bench statistics", () => {
  it("takes the median of odd and even counts without reordering the input", () => {
    const xs = [5, 1, 3];
    assert.equal(median(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.ok(Number.isNaN(median([])));
  });

  it("takes nearest-rank percentiles", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    assert.equal(percentile(hundred, 0.5), 51);
    assert.equal(percentile(hundred, 0.99), 100);
    assert.equal(percentile(hundred, 1), 100);
    assert.equal(percentile(hundred, 0), 1);
    assert.deepEqual(percentiles([3, 1, 2], [0.5, 0.9]), [2, 3]);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });

  it("gives the range and the interpolated quartiles", () => {
    assert.deepEqual(spread([1, 2, 3, 4, 5]), { min: 1, max: 5, q1: 2, q3: 4 });
    assert.deepEqual(spread([10, 0]), { min: 0, max: 10, q1: 2.5, q3: 7.5 });
    assert.ok(Number.isNaN(spread([]).min));
  });

  it("pairs ratios by repeat", () => {
    assert.deepEqual(pairedRatios([10, 30], [5, 10]), [2, 3]);
    assert.ok(Number.isNaN(pairedRatios([1, 2], [1])[1] as number));
  });

  it("compares each run with the mean of the references measured before and after it", () => {
    // Three runs between four references: a machine slowing down does not count against the last run.
    assert.deepEqual(bracketed([100, 90, 80, 70], 3), [95, 85, 75]);
    assert.deepEqual(pairedRatios([95, 85, 75], bracketed([100, 90, 80, 70], 3)), [1, 1, 1]);
    // No reference after the last run: the references as measured.
    assert.deepEqual(bracketed([100, 90], 2), [100, 90]);
  });

  it("formats figures, ranges and verdicts", () => {
    assert.equal(fmt(12345.678), "12,346");
    assert.equal(fmt(0.1234, 2), "0.12");
    assert.equal(fmt(Number.NaN), "–");
    assert.equal(fmt(undefined), "–");
    assert.equal(fmtRange([6500, 5500, 6000]), "5,500–6,500");
    assert.equal(fmtRange([2, 2]), "2");
    assert.equal(fmtMedianRange([6500, 5500, 6000]), "6,000 (5,500–6,500)");
    assert.equal(fmtMedianRange([0.5], 2), "0.50");
    assert.equal(verdict(0.96, 0.95), "met");
    assert.equal(verdict(1.61, 2), "missed by 19%");
    assert.equal(verdict(121, 250, false), "met");
    assert.equal(verdict(300, 250, false), "missed by 20%");
    assert.equal(verdict(Number.NaN, 1), "not measured");
  });

  it("prints Markdown tables with alignment and escaped pipes", () => {
    assert.deepEqual(
      markdownTable(
        ["a", "b"],
        [
          ["x|y", "1"],
          ["z", "2"],
        ],
        ["left", "right"],
      ),
      ["| a | b |", "| --- | ---: |", "| x\\|y | 1 |", "| z | 2 |"],
    );
    assert.deepEqual(targetsTable([{ name: "ratio", got: 0.5, want: "≥ 0.9", status: "missed by 44%" }]), [
      "| target | measured | wanted |  |",
      "| --- | ---: | ---: | --- |",
      "| ratio | 0.50 | ≥ 0.9 | missed by 44% |",
    ]);
  });
});
