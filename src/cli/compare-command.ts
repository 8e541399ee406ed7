/**
 * `sentiment-worker compare --candidate B --input posts.jsonl`: how often a candidate model agrees
 * with the configured one on a file, offline — the report shadow mode gives on live traffic
 * (overall, per language, the label confusion matrix, mean score difference), the way the model
 * card reports that the student agrees with its teacher on 88.29% of the evaluation set. With a
 * reference label in the records (`--label-field`, default `label`), each model's accuracy too.
 */
import { existsSync, statSync } from "node:fs";
import { Command, Option } from "commander";
import type { Config } from "../config/index.js";
import { fileRecords, maxLineBytes } from "../consumers/file-source.js";
import { ConfigError } from "../errors/errors.js";
import { checkSentimentLabels } from "../events/sentiment-event.js";
import type { Classified } from "../inference/classifier.js";
import type { TextClassifier } from "../inference/text-classifier.js";
import { eventLanguage } from "../language/event-language.js";
import { decodeRecord } from "../pipeline/decode.js";
import { AgreementStats, formatReport } from "../rollout/agreement.js";
import { type ModelSpec, modelConfigOf } from "../rollout/model-spec.js";
import { textClassifierFromConfig } from "./classifier-from-config.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";

/** A candidate as typed: a directory, or a hub repo id with an optional `@revision`. */
export function candidateSpec(
  value: string,
  variant: Config["model"]["variant"] | undefined,
  kind?: Config["model"]["kind"],
): ModelSpec {
  const v = { ...(variant ? { variant } : {}), ...(kind ? { kind } : {}) };
  if (existsSync(value) && statSync(value).isDirectory()) return { dir: value, ...v };
  const at = value.lastIndexOf("@");
  if (at > 0) return { id: value.slice(0, at), revision: value.slice(at + 1), ...v };
  if (/^[\w.-]+\/[\w.-]+$/.test(value)) return { id: value, ...v };
  throw new ConfigError([
    { path: "--candidate", reason: `${value} is neither a model directory nor a hub repo id like org/name[@revision]` },
  ]);
}

interface Row {
  text: string;
  lang: string | undefined;
  reference: string | undefined;
}

async function readRows(path: string, config: Config, labelField: string): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const line of fileRecords(path, maxLineBytes(config.input.maxTextBytes))) {
    if (line.kind !== "record") continue;
    const { record } = line;
    const decoded = decodeRecord(record, config.input);
    if (decoded.kind !== "message") continue;
    const { lang } = eventLanguage(decoded.lang, decoded.text, config.input.detectLanguage);
    let reference: string | undefined;
    try {
      const value = (JSON.parse(String(record.value)) as Record<string, unknown>)[labelField];
      if (typeof value === "string") reference = value;
    } catch {
      // plain-text input: no reference label
    }
    rows.push({ text: decoded.text, lang, reference });
  }
  return rows;
}

export function compareCommand(): Command {
  const command = new Command("compare")
    .description(
      "tag a JSONL file with the configured model and a candidate, and print how often they agree (overall, per language, per label pair)",
    )
    .requiredOption("--candidate <model>", "the candidate: a model directory, or a hub repo id[@revision]")
    .addOption(
      new Option("--candidate-variant <variant>", "the candidate's ONNX file (default: model.variant)").choices([
        "fp32",
        "int8",
      ]),
    )
    .addOption(
      new Option(
        "--candidate-kind <kind>",
        "zero-shot for an NLI teacher (default: model.kind, auto: zero-shot when its config.json has an entailment label)",
      ).choices(["auto", "classifier", "zero-shot"]),
    )
    .option("--input <file>", "JSONL records as `run` reads them (input.textField, input.idField; - for stdin)", "-")
    .option("--label-field <field>", "a reference label in each record, for each model's accuracy", "label")
    .option("--json", "print the report as JSON");
  withConfigOptions(command);
  return command.action(async () => {
    const config = configFromCommand(command);
    const opts = command.opts<{
      candidate: string;
      candidateVariant?: Config["model"]["variant"];
      candidateKind?: Config["model"]["kind"];
      input: string;
      labelField: string;
      json?: boolean;
    }>();
    const spec = candidateSpec(opts.candidate, opts.candidateVariant, opts.candidateKind);
    const rows = await readRows(opts.input, config, opts.labelField);
    const texts = rows.map((r) => r.text);
    // One model at a time, so each has the cores to itself; a model without the three labels is
    // refused before it tags the file, not after.
    const tag = async (model: Config["model"]) => {
      const classifier = await textClassifierFromConfig(config, model);
      try {
        checkSentimentLabels(classifier.model.labels);
        return { model: classifier.model, kind: classifier.kind, results: await classifier.classifyAll(texts) };
      } finally {
        await classifier.close();
      }
    };
    const primary = await tag(config.model);
    const candidate = await tag(modelConfigOf(config.model, spec));
    const [primaryResults, candidateResults] = [primary.results, candidate.results];
    const stats = new AgreementStats(primary.model.labels);
    for (const [i, row] of rows.entries()) {
      stats.add(row.lang, primaryResults[i] as Classified, candidateResults[i] as Classified, row.reference);
    }
    const name = ({ model, kind }: { model: TextClassifier["model"]; kind: TextClassifier["kind"] }, variant: string) =>
      `${model.name}@${model.revision} (${variant}${kind === "zero-shot" ? ", zero-shot" : ""})`;
    const names = {
      primary: name(primary, config.model.variant),
      candidate: name(candidate, spec.variant ?? config.model.variant),
    };
    const report = stats.report();
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...names, ...report }, null, 2)}\n`);
    else process.stdout.write(`${formatReport(report, names)}\n`);
  });
}
