/** The public seam of `shared/`: contracts, names, config, logging, NATS setup and job helpers. */
export * from './contracts.js';
export * from './loop-options.js';
export * from './subjects.js';
export * from './config.js';
export * from './errors.js';
export * from './logger.js';
export * from './codec.js';
export * from './nats.js';
export * from './jetstream-errors.js';
export * from './job-client.js';
export * from './job-view.js';
export * from './prompt-syntax.js';
