/** What every integration test file opens first and closes last: the services and a Kafka client. */
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
