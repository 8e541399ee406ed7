/**
 * The kafkajs client settings from our configuration: brokers, client id, TLS (CA, mutual TLS)
 * and SASL (PLAIN, SCRAM-SHA-256/512). Sources and sinks both build their clients from this, so a
 * deployment's security settings are read in one place.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import type { KafkaConfig, SASLOptions } from "kafkajs";
import type { Config } from "../config/index.js";
import { ConfigError } from "../errors/errors.js";
import { logLevel } from "./kafkajs.js";

function readPem(path: string, field: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError([{ path: field, reason: `cannot read ${path}: ${(e as Error).message}` }]);
  }
}

function tlsOptions(ssl: Config["kafka"]["ssl"]): ConnectionOptions | undefined {
  if (!ssl.enabled) return undefined;
  return {
    rejectUnauthorized: ssl.rejectUnauthorized,
    ...(ssl.caFile ? { ca: [readPem(ssl.caFile, "kafka.ssl.caFile")] } : {}),
    ...(ssl.certFile ? { cert: readPem(ssl.certFile, "kafka.ssl.certFile") } : {}),
    ...(ssl.keyFile ? { key: readPem(ssl.keyFile, "kafka.ssl.keyFile") } : {}),
  };
}

function saslOptions(sasl: Config["kafka"]["sasl"]): SASLOptions | undefined {
  // The schema guarantees username and password whenever a mechanism is set.
  const credentials = { username: sasl.username ?? "", password: sasl.password ?? "" };
  switch (sasl.mechanism) {
    case "none":
      return undefined;
    case "plain":
      return { mechanism: "plain", ...credentials };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", ...credentials };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", ...credentials };
  }
}

export function kafkaClientConfig(kafka: Config["kafka"]): KafkaConfig {
  const ssl = tlsOptions(kafka.ssl);
  const sasl = saslOptions(kafka.sasl);
  return {
    brokers: [...kafka.brokers],
    clientId: kafka.clientId,
    // kafkajs's own logs are replaced by ours; its errors reach us as exceptions.
    logLevel: logLevel.NOTHING,
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
  };
}
