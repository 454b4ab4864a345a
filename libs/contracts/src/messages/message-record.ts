/**
 * A Kafka record as a message builder makes it: the key (the job id on every job topic, DESIGN
 * section 6), the value (sent as JSON unless it is a string) and the headers. Structurally an
 * `OutboundMessage` of @signoff/messaging, which producers publish as-is.
 */
export interface MessageRecord<V> {
  readonly key: string;
  readonly value: V;
  readonly headers: Readonly<Record<string, string>>;
}

/** A stored event as a relay's builder reads it (structurally a `RecordedEvent` of @signoff/event-store). */
export interface RelayedEvent<D> {
  /** The event id, sent as the `event-id` header so a consumer can name what it acted on. */
  readonly id: string;
  /** The job's stream id (`job-<id>` or `job-<tenant>|<id>`): it names the tenant. */
  readonly streamId: string;
  readonly data: D;
}
