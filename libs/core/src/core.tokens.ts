/** DI token of the validated configuration. */
export const SIGNOFF_CONFIG = Symbol('SIGNOFF_CONFIG');
/** DI token of the topic names (from KAFKA_TOPIC_PREFIX). */
export const SIGNOFF_TOPICS = Symbol('SIGNOFF_TOPICS');
