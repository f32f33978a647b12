/**
 * Run before each unit-test file (vitest.config.ts, project `unit`). Unit files share their worker's loaded modules,
 * so the process-wide state one file sets would reach the next: each file starts from the state a fresh process
 * has. The registered secrets (a secret `token` registered by one file redacted the word in another's messages),
 * the shared logger (created on first use, as `logger()` does) and where human log lines go.
 */
import { clearSecretsForTests } from '../../src/errors/secrets.js';
import { createLogger, setHumanLogSink, setLogger } from '../../src/util/logger.js';

clearSecretsForTests();
setLogger(createLogger());
setHumanLogSink(undefined);
