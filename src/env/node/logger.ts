import { LOG_LEVELS, type LogFields, type LogLevel, type Logger } from '../logger.js';

export interface JsonLoggerOptions {
  readonly level?: LogLevel;
  /** Where lines go; standard error by default. */
  readonly write?: (line: string) => void;
  readonly fields?: LogFields;
}

/** Structured JSON lines: {"level":"info","ts":"…","msg":"…",…fields}. */
export class JsonLogger implements Logger {
  private readonly min: number;
  private readonly write: (line: string) => void;
  private readonly fields: LogFields;

  constructor(private readonly options: JsonLoggerOptions = {}) {
    this.min = LOG_LEVELS[options.level ?? 'info'];
    this.write = options.write ?? ((line) => process.stderr.write(line + '\n'));
    this.fields = options.fields ?? {};
  }

  private log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LOG_LEVELS[level] < this.min) return;
    const record: Record<string, unknown> = { level, ts: new Date().toISOString(), msg, ...this.fields, ...fields };
    this.write(JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? v.message : v)));
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger({ ...this.options, fields: { ...this.fields, ...fields } });
  }
}
