/** @signoff/core/testing: what tests of the services use of core (never imported by production code). */
export { FixedClock } from './fixed-clock';
