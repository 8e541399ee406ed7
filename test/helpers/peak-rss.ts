/**
 * Preloaded into a child process (`node --import dist/test/helpers/peak-rss.js ...`): at exit, it
 * writes the process's peak resident set in bytes (getrusage's ru_maxrss, every thread and native
 * allocation included) to the file named by PEAK_RSS_FILE. The child's own report: no sampling
 * that can miss a short peak, and no `/usr/bin/time`, which a machine may not have.
 */
import { writeFileSync } from "node:fs";

const file = process.env.PEAK_RSS_FILE;
if (file) {
  process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)));
}
