/** What every integration test file opens first and closes last: the services and a Kafka client. */
import { after, before } from "node:test";
import { KafkaTestClient } from "./kafka.js";
import { type TestServices, testServices } from "./services.js";

export interface Integration {
  services: TestServices;
  client: KafkaTestClient;
}

export async function openIntegration(): Promise<Integration> {
  const services = await testServices();
  const client = new KafkaTestClient(services.kafkaBrokers);
  await client.connect();
  return { services, client };
}

/** Safe after a failed open: closes what exists. */
export async function closeIntegration(opened: Partial<Integration>): Promise<void> {
  await opened.client?.close();
  await opened.services?.stop();
}

/**
 * Registers the file's `before` (open) and `after` (close) hooks; `set` receives what was opened,
 * so a file keeps its own `services` and `client` variables. `beforeClose` runs first at the end
 * (stopping the file's workers while the services still answer).
 */
export function openForFile(
  set: (opened: Integration) => void,
  options: { beforeClose?: () => Promise<unknown> } = {},
): void {
  let opened: Integration | undefined;
  before(async () => {
    opened = await openIntegration();
    set(opened);
  });
  after(async () => {
    await options.beforeClose?.();
    await closeIntegration(opened ?? {});
  });
}
