/**
 * The first connection to the cluster, with its failures said in terms of our settings: refused
 * credentials name `kafka.sasl`, a certificate the client does not trust names `kafka.ssl`, an
 * unreachable cluster names `kafka.brokers`. kafkajs's own messages are kept as the reason.
 */
import type { Admin, Kafka } from "kafkajs";
import type { Config } from "../config/index.js";
import { ConfigError, SentimentWorkerError } from "../errors/errors.js";
import { KafkaJSSASLAuthenticationError } from "./kafkajs.js";

/** Node's TLS verification codes that mean "the broker's certificate is not trusted here". */
const UNTRUSTED_CERTIFICATE = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function codeOf(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === "string") return e.code;
  }
  return undefined;
}

/** The error to show for a failed first connection (the original is kept as `cause`). */
export function explainConnectError(error: unknown, kafka: Config["kafka"]): Error {
  const message = (error as Error).message ?? String(error);
  if (error instanceof KafkaJSSASLAuthenticationError) {
    return new ConfigError([
      { path: "kafka.sasl", reason: `the broker refused user ${kafka.sasl.username ?? ""}: ${message}` },
    ]);
  }
  const code = codeOf(error);
  if (code && UNTRUSTED_CERTIFICATE.has(code)) {
    return new ConfigError([
      {
        path: "kafka.ssl",
        reason: `the brokers' TLS certificate is not trusted (${message}); set kafka.ssl.caFile to the CA that signed it`,
      },
    ]);
  }
  return new SentimentWorkerError(`kafka.brokers: cannot connect to ${kafka.brokers.join(", ")}: ${message}`, {
    cause: error,
    retriable: true,
  });
}

/** Connects an admin client; a failure becomes an error that names the setting to fix. */
export async function connectAdmin(client: Kafka, kafka: Config["kafka"]): Promise<Admin> {
  const admin = client.admin();
  try {
    await admin.connect();
    // connect() alone does not always talk to a broker; a metadata request proves the settings.
    await admin.describeCluster();
    return admin;
  } catch (error) {
    await admin.disconnect().catch(() => {});
    throw explainConnectError(error, kafka);
  }
}
