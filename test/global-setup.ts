// Placeholder until the shared-broker setup lands: replaced by the Kafka helper.
export default async function setup(): Promise<void> {}
