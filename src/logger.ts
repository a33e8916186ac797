import { pino, type Logger } from 'pino';

/**
 * The service's logger: JSON lines at `level`, with credentials, cookies and secrets
 * replaced by "[redacted]" wherever they appear. The benchmarks' baselines log through it
 * too (the same foundation as the service).
 */
export const createLogger = (level: string): Logger =>
  pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        '*.password',
        '*.passwordHash',
        '*.secret',
        '*.accessToken',
        '*.refreshToken',
      ],
      censor: '[redacted]',
    },
  });
