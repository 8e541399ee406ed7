import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { configFields, fieldByPath } from "../../src/config/fields.js";
import { shownDefault } from "../../src/config/reference.js";
import { githubSlug } from "../helpers/markdown.js";

const root = join(import.meta.dirname, "../../..");
const cli = join(root, "dist/src/cli/main.js");
const README_MAX_BYTES = 10 * 1024;

/** The Markdown documents whose links must hold: the README, every page of docs/, the chart's README. */
function documents(): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => join("docs", f));
  return ["README.md", ...docs, "helm/sentiment-worker/README.md"];
}

function read(file: string): string {
  return readFileSync(join(root, file), "utf8");
}

/** The text outside fenced code blocks (``` or ~~~), with each fenced line blanked so line numbers hold. */
function outsideFences(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split("\n").map((line) => {
    const open = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === undefined) {
      if (open?.[1]) {
        fence = open[1];
        return "";
      }
      return line;
    }
    if (open?.[1] && open[1][0] === fence[0] && open[1].length >= fence.length && line.trim() === open[1]) {
      fence = undefined;
    }
    return "";
  });
}

/** The anchors of a Markdown file's ATX headings, with GitHub's `-1`, `-2`… for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of outsideFences(markdown)) {
    const m = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!m?.[1]) continue;
    const slug = githubSlug(m[1]);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images `[text](target "title")` and reference definitions `[name]: target`, outside code. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  outsideFences(markdown).forEach((raw, i) => {
    const line = raw.replace(/(`+)[^`]*?\1/g, (code) => (code.includes("](") ? "" : code));
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      if (m[1] !== undefined) links.push({ line: i + 1, target: m[1] });
    }
    const ref = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (ref?.[1]) links.push({ line: i + 1, target: ref[1] });
    for (const m of line.matchAll(/<a\s[^>]*href="([^"]*)"/g)) {
      if (m[1] !== undefined) links.push({ line: i + 1, target: m[1] });
    }
  });
  return links;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/** The table rows of a README section (between its `## title` and the next `## `). */
function sectionOf(markdown: string, title: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  assert.ok(start >= 0, `the README has a "## ${title}" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** The subcommands a `--help` text lists under "Commands:", without `help`. */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:\s*$/m)[1];
  if (section === undefined) return [];
  const names: string[] = [];
  for (const line of section.split("\n")) {
    if (/^\S/.test(line)) break; // the next section
    const m = /^ {2}([a-z][\w-]*)/.exec(line);
    if (m?.[1] && m[1] !== "help") names.push(m[1]);
  }
  return names;
}

function help(args: string[]): string {
  const result = spawnSync(process.execPath, [cli, ...args, "--help"], { encoding: "utf8" });
  assert.equal(result.status, 0, `sentiment-worker ${args.join(" ")} --help exits 0: ${result.stderr}`);
  return result.stdout;
}

describe("documentation", () => {
  it("computes GitHub's heading anchors", () => {
    assert.equal(githubSlug("The inference engine (`src/inference`)"), "the-inference-engine-srcinference");
    assert.equal(githubSlug("Tokenizer (`bench/tokenizer.bench.ts`)"), "tokenizer-benchtokenizerbenchts");
    assert.equal(githubSlug("Two commands on a fresh machine"), "two-commands-on-a-fresh-machine");
    assert.equal(githubSlug("Events: `sentiment.v1` and dead_letters"), "events-sentimentv1-and-dead_letters");
  });

  it("has every relative link point at a file of the repository, and every #anchor at a heading", () => {
    const problems: string[] = [];
    for (const doc of documents()) {
      assert.ok(existsSync(join(root, doc)), `${doc} exists`);
      for (const { line, target } of linksOf(read(doc))) {
        if (isExternal(target) || target === "") continue;
        const hash = target.indexOf("#");
        const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
        const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
        const file = pathPart === "" ? join(root, doc) : resolve(join(root, dirname(doc)), pathPart);
        const where = `${doc}:${line}: ${target}`;
        const rel = relative(root, file);
        if (rel.startsWith("..") || isAbsolute(rel)) {
          problems.push(`${where} points outside the repository`);
          continue;
        }
        if (!existsSync(file)) {
          problems.push(`${where}: no such file`);
          continue;
        }
        if (anchor !== undefined && anchor !== "" && file.endsWith(".md") && statSync(file).isFile()) {
          if (!anchorsOf(readFileSync(file, "utf8")).has(anchor)) problems.push(`${where}: no such heading`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("refers to no file outside the repository", () => {
    const problems: string[] = [];
    for (const doc of [...documents(), "tools/model/README.md"]) {
      read(doc)
        .split("\n")
        .forEach((text, i) => {
          if (/\.\.\/shared\b|(?:^|[\s`(])\/work\//.test(text)) problems.push(`${doc}:${i + 1}: ${text.trim()}`);
        });
    }
    assert.deepEqual(problems, []);
  });

  it("keeps the README at most 10 KB", () => {
    const bytes = statSync(join(root, "README.md")).size;
    assert.ok(bytes <= README_MAX_BYTES, `README.md is ${bytes} bytes; move detail into docs/`);
  });

  it("lists every sentiment-worker subcommand in the README's commands table", () => {
    const table = sectionOf(read("README.md"), "Commands")
      .split("\n")
      .filter((l) => l.startsWith("|"))
      .map((l) => l.split("|")[1] ?? "");
    const top = commandsIn(help([]));
    assert.ok(top.includes("run") && top.includes("replay"), `commands parsed from --help: ${top.join(", ")}`);
    const expected: string[] = [];
    for (const name of top) {
      const nested = commandsIn(help([name]));
      if (nested.length === 0) expected.push(name);
      for (const sub of nested) expected.push(`${name} ${sub}`);
    }
    const missing = expected.filter(
      (command) => !table.some((cell) => new RegExp(`\`sentiment-worker ${command}(?:[\\s\`])`).test(cell)),
    );
    assert.deepEqual(missing, [], "every command appears as `sentiment-worker <command>` in the first column");
  });

  it("gives the schema's defaults in the README's settings table", () => {
    const rows = sectionOf(read("README.md"), "Configuration")
      .split("\n")
      .filter((l) => l.startsWith("| `"));
    assert.ok(rows.length >= 5, `settings rows parsed: ${rows.length}`);
    const problems: string[] = [];
    for (const row of rows) {
      const [, settingsCell = "", defaultsCell = ""] = row.split("|");
      const settings = [...settingsCell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
      // One default per setting, comma-separated; a comma inside `code` belongs to the value.
      const defaults = defaultsCell.split(/,(?=(?:[^`]*`[^`]*`)*[^`]*$)/).map((d) => d.trim());
      if (defaults.length !== settings.length) {
        problems.push(`${row}: ${settings.length} settings but ${defaults.length} defaults`);
        continue;
      }
      for (const [i, path] of settings.entries()) {
        const field = fieldByPath(path);
        if (!field) {
          problems.push(`${path}: no such setting`);
          continue;
        }
        // `value` is a value; (empty) an empty list; any other words describe what an unset one does.
        const said = defaults[i] as string;
        const code = /`([^`]*)`/.exec(said)?.[0];
        const shown = code ?? (said === "(empty)" ? "(empty)" : "(unset)");
        if (shown !== shownDefault(field.default)) {
          problems.push(`${path}: the README says ${said}, the schema ${shownDefault(field.default)}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("writes each default once: no setting's description restates its default number", () => {
    // The reference shows every default in its own column; a number in the prose goes stale.
    const restated = configFields().flatMap((f) => {
      if (typeof f.default !== "number" || f.default < 2) return []; // 0 and 1 say what they mean ("0 disables")
      const written = [String(f.default), f.default.toLocaleString("en-US")].map((n) => n.replace(/[.,]/g, "\\$&"));
      // Not as an end of a range (`0-100`), which is another fact.
      const says = new RegExp(`(?<![\\w.,-])(?:${written.join("|")})(?![\\w,]|-\\d)`);
      return says.test(f.description) ? [`${f.path} (${f.default}): ${f.description}`] : [];
    });
    assert.deepEqual(restated, []);
  });

  it("links every page of docs/ from the README, so the front door shows all there is", () => {
    const readme = read("README.md");
    const unlinked = readdirSync(join(root, "docs"))
      .filter((f) => f.endsWith(".md"))
      .filter((f) => !readme.includes(`](docs/${f}`));
    assert.deepEqual(unlinked, []);
  });

  it("keeps the README's status and limits true to the code", () => {
    const readme = read("README.md");
    const front = [sectionOf(readme, "Current limits"), readme.slice(0, readme.indexOf("```mermaid"))].join("\n");
    /** A claim the README may make, and what in the repository makes it true. */
    const claims: Array<{ says: RegExp; holds: () => boolean; what: string }> = [
      {
        says: /kafkajs (types )?(still )?reach|Kafka client behind an interface/i,
        holds: () => kafkajsImportsOutsideSrcKafka().length > 0,
        what: "kafkajs is imported only in src/kafka (scripts/check-layers.mjs)",
      },
      {
        says: /language[^.]*(copied from the input|not detected)/i,
        holds: () => !existsSync(join(root, "src/language")),
        what: "src/language detects languages",
      },
      {
        says: /never (run|built)[^.]*(docker|container) image|(docker|container) image[^.]*never (run|built)/i,
        holds: () => !existsSync(join(root, "test/integration/container-smoke.test.ts")),
        what: "the container smoke test exists",
      },
      {
        says: /never run[^.]*Testcontainers|Testcontainers[^.]*never run/i,
        holds: () => !existsSync(join(root, "test/integration/testcontainers.test.ts")),
        what: "the Testcontainers test exists",
      },
    ];
    const untrue = claims.filter((c) => c.says.test(front) && !c.holds()).map((c) => `${c.says}: but ${c.what}`);
    assert.deepEqual(untrue, [], "the README says something the code no longer bears out");
  });

  it("names only npm scripts that package.json defines", () => {
    const scripts = Object.keys(
      (JSON.parse(read("package.json")) as { scripts?: Record<string, string> }).scripts ?? {},
    );
    const problems: string[] = [];
    for (const doc of documents()) {
      read(doc)
        .split("\n")
        .forEach((text, i) => {
          for (const m of text.matchAll(/\bnpm (?:run(?:-script)?\s+([\w:.-]+)|(test|start)\b)/g)) {
            const name = m[1] ?? m[2] ?? "";
            if (!scripts.includes(name)) problems.push(`${doc}:${i + 1}: npm script "${name}"`);
          }
        });
    }
    assert.deepEqual(problems, []);
  });
});

/** The kafkajs imports outside src/kafka, as the floor-plan check (`npm run lint`) reports them. */
function kafkajsImportsOutsideSrcKafka(): string[] {
  const check = spawnSync(process.execPath, [join(root, "scripts/check-layers.mjs")], { encoding: "utf8" });
  return check.stderr.split("\n").filter((line) => line.includes("imports kafkajs outside src/kafka"));
}
