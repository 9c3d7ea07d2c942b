import { describe, expect, it } from 'vitest';
import { LOG_LEVELS } from '../../src/log.js';
import { resolveSettings, SettingsError } from '../../src/settings.js';

const fullEnv = {
  MCP_GATEWAY_CONFIG: '/env/servers.yaml',
  GATEWAY_PORT: '9000',
  GATEWAY_HOST: '0.0.0.0',
  STATE_DIR: '/env/state',
  LOG_LEVEL: 'debug',
  DEFAULT_IDLE_TIMEOUT: '45',
  GATEWAY_ALLOWED_HOSTS: 'env.example',
  GATEWAY_ALLOWED_ORIGINS: 'https://env.example'
};

describe('resolveSettings', () => {
  it('uses the defaults without flags or environment', () => {
    // Unset port, host and allowed lists stay undefined: the config file's gateway section, and
    // then the gateway's own defaults (127.0.0.1:8000), decide them.
    expect(resolveSettings({}, {})).toEqual({
      configFile: './servers.yaml',
      port: undefined,
      host: undefined,
      stateDir: './data',
      logLevel: 'info',
      defaultIdleTimeout: undefined,
      allowedHosts: undefined,
      allowedOrigins: undefined,
      allowUnauthenticated: false,
      resetDamagedState: false,
      watchConfig: true
    });
  });

  it('takes environment variables over the defaults', () => {
    expect(resolveSettings({}, fullEnv)).toEqual({
      configFile: '/env/servers.yaml',
      port: 9000,
      host: '0.0.0.0',
      stateDir: '/env/state',
      logLevel: 'debug',
      defaultIdleTimeout: 45,
      allowedHosts: ['env.example'],
      allowedOrigins: ['https://env.example'],
      allowUnauthenticated: false,
      resetDamagedState: false,
      watchConfig: true
    });
  });

  it('takes flags over environment variables', () => {
    const settings = resolveSettings(
      {
        config: '/flag/servers.yaml',
        port: '7000',
        host: '::1',
        'state-dir': '/flag/state',
        'log-level': 'warn',
        'allowed-hosts': 'flag.example',
        'allowed-origins': 'https://flag.example'
      },
      fullEnv
    );
    expect(settings).toEqual({
      configFile: '/flag/servers.yaml',
      port: 7000,
      host: '::1',
      stateDir: '/flag/state',
      logLevel: 'warn',
      defaultIdleTimeout: 45,
      allowedHosts: ['flag.example'],
      allowedOrigins: ['https://flag.example'],
      allowUnauthenticated: false,
      resetDamagedState: false,
      watchConfig: true
    });
  });

  it('resolves each setting on its own', () => {
    const settings = resolveSettings({ port: '7000' }, { GATEWAY_HOST: 'h.example', LOG_LEVEL: 'error' });
    expect(settings).toMatchObject({ port: 7000, host: 'h.example', logLevel: 'error', stateDir: './data' });
  });

  it('treats an empty environment variable as unset', () => {
    const settings = resolveSettings(
      {},
      { GATEWAY_PORT: '', LOG_LEVEL: '', GATEWAY_HOST: '', STATE_DIR: '', DEFAULT_IDLE_TIMEOUT: '' }
    );
    expect(settings).toMatchObject({
      port: undefined,
      logLevel: 'info',
      host: undefined,
      stateDir: './data',
      defaultIdleTimeout: undefined
    });
  });

  it('ignores undefined flags', () => {
    expect(resolveSettings({ port: undefined, host: undefined }, { GATEWAY_PORT: '1234' })).toMatchObject({
      port: 1234,
      host: undefined
    });
  });

  it('reads --allow-unauthenticated and GATEWAY_ALLOW_UNAUTHENTICATED=true', () => {
    expect(resolveSettings({ 'allow-unauthenticated': true }, {}).allowUnauthenticated).toBe(true);
    expect(resolveSettings({}, { GATEWAY_ALLOW_UNAUTHENTICATED: 'true' }).allowUnauthenticated).toBe(true);
    expect(resolveSettings({}, { GATEWAY_ALLOW_UNAUTHENTICATED: 'false' }).allowUnauthenticated).toBe(false);
    // A security switch is never guessed at: `yes` once silently meant false.
    expect(() => resolveSettings({}, { GATEWAY_ALLOW_UNAUTHENTICATED: 'yes' })).toThrow(
      'GATEWAY_ALLOW_UNAUTHENTICATED must be true or false, got "yes"'
    );
  });

  it('reads --reset-damaged-state and GATEWAY_RESET_DAMAGED_STATE=true', () => {
    expect(resolveSettings({ 'reset-damaged-state': true }, {}).resetDamagedState).toBe(true);
    expect(resolveSettings({}, { GATEWAY_RESET_DAMAGED_STATE: 'true' }).resetDamagedState).toBe(true);
    expect(() => resolveSettings({}, { GATEWAY_RESET_DAMAGED_STATE: '1' })).toThrow(
      'GATEWAY_RESET_DAMAGED_STATE must be true or false, got "1"'
    );
  });

  it('reads GATEWAY_WATCH_CONFIG as true or false, on by default, and refuses anything else', () => {
    expect(resolveSettings({}, {}).watchConfig).toBe(true);
    expect(resolveSettings({}, { GATEWAY_WATCH_CONFIG: 'false' }).watchConfig).toBe(false);
    expect(resolveSettings({}, { GATEWAY_WATCH_CONFIG: 'true' }).watchConfig).toBe(true);
    for (const value of ['maybe', '0', 'False']) {
      expect(() => resolveSettings({}, { GATEWAY_WATCH_CONFIG: value })).toThrow(
        `GATEWAY_WATCH_CONFIG must be true or false, got ${JSON.stringify(value)}`
      );
    }
  });

  it('reads an IPv6 host written in brackets, as in a URL, as the address', () => {
    expect(resolveSettings({ host: '[::1]' }, {}).host).toBe('::1');
    expect(resolveSettings({}, { GATEWAY_HOST: '[::]' }).host).toBe('::');
    expect(resolveSettings({ host: '::1' }, {}).host).toBe('::1');
  });

  describe('port', () => {
    it.each([
      ['0', 0],
      ['1', 1],
      ['65535', 65535],
      ['08080', 8080]
    ])('accepts %j', (port, expected) => {
      expect(resolveSettings({ port }, {}).port).toBe(expected);
    });

    it.each(['65536', '99999', '-1', 'http', '80.5', ' 80', '80 ', '1e3', '0x50', '123456', ''])(
      'rejects the flag %j with a SettingsError that quotes it',
      port => {
        const attempt = () => resolveSettings({ port }, {});
        expect(attempt).toThrow(SettingsError);
        expect(attempt).toThrow(`port must be a number from 0 to 65535, got ${JSON.stringify(port)}`);
      }
    );

    it('rejects a bad GATEWAY_PORT too', () => {
      expect(() => resolveSettings({}, { GATEWAY_PORT: 'eighty' })).toThrow(
        new SettingsError('port must be a number from 0 to 65535, got "eighty"')
      );
    });

    it('does not fall back to the environment when the flag is bad', () => {
      expect(() => resolveSettings({ port: 'x' }, { GATEWAY_PORT: '9000' })).toThrow(/got "x"/);
    });
  });

  describe('log level', () => {
    it.each([...LOG_LEVELS])('accepts %s', level => {
      expect(resolveSettings({ 'log-level': level }, {}).logLevel).toBe(level);
    });

    it.each(['loud', 'INFO', 'warning', ' info'])('rejects %j, listing the levels', level => {
      const attempt = () => resolveSettings({}, { LOG_LEVEL: level });
      expect(attempt).toThrow(SettingsError);
      expect(attempt).toThrow(
        `log level must be one of fatal, error, warn, info, debug, trace, silent, got ${JSON.stringify(level)}`
      );
    });
  });

  describe('DEFAULT_IDLE_TIMEOUT', () => {
    it.each([
      ['0', 0],
      ['30', 30],
      ['2.5', 2.5]
    ])('reads %j as %d seconds', (value, seconds) => {
      expect(resolveSettings({}, { DEFAULT_IDLE_TIMEOUT: value }).defaultIdleTimeout).toBe(seconds);
    });

    it.each(['soon', '-1', 'Infinity', '1e400', 'NaN', '5s'])('rejects %j', value => {
      const attempt = () => resolveSettings({}, { DEFAULT_IDLE_TIMEOUT: value });
      expect(attempt).toThrow(SettingsError);
      expect(attempt).toThrow(
        `DEFAULT_IDLE_TIMEOUT must be a number of seconds, got ${JSON.stringify(value)}`
      );
    });

    // Number("  ") is 0: a blank value must not silently mean "never stop idle servers".
    it.each([' ', '\t', '  \n'])('does not read the blank value %j as 0', value => {
      expect(() => resolveSettings({}, { DEFAULT_IDLE_TIMEOUT: value })).toThrow(SettingsError);
    });
  });

  describe('SHUTDOWN_DRAIN', () => {
    it('reads seconds, and leaves the default to the gateway when unset', () => {
      expect(resolveSettings({}, { SHUTDOWN_DRAIN: '2.5' }).shutdownDrain).toBe(2.5);
      expect(resolveSettings({}, { SHUTDOWN_DRAIN: '0' }).shutdownDrain).toBe(0);
      expect(resolveSettings({}, {}).shutdownDrain).toBeUndefined();
    });

    it.each(['soon', '-1', '5s', ' '])('rejects %j', value => {
      expect(() => resolveSettings({}, { SHUTDOWN_DRAIN: value })).toThrow(
        `SHUTDOWN_DRAIN must be a number of seconds, got ${JSON.stringify(value)}`
      );
    });
  });

  describe('allowed hosts and origins', () => {
    it('splits comma-separated lists, trimming items and dropping empty ones', () => {
      const settings = resolveSettings(
        { 'allowed-hosts': ' a.example , b.example,, ,c.example ' },
        { GATEWAY_ALLOWED_ORIGINS: 'https://a.example,http://b.example:8080,' }
      );
      expect(settings.allowedHosts).toEqual(['a.example', 'b.example', 'c.example']);
      expect(settings.allowedOrigins).toEqual(['https://a.example', 'http://b.example:8080']);
    });

    it('gives an empty list for an empty or all-separator value', () => {
      expect(resolveSettings({ 'allowed-hosts': '' }, {}).allowedHosts).toEqual([]);
      expect(resolveSettings({ 'allowed-hosts': ' , ,' }, {}).allowedHosts).toEqual([]);
    });

    it('lets an empty flag override the environment list', () => {
      expect(
        resolveSettings({ 'allowed-hosts': '' }, { GATEWAY_ALLOWED_HOSTS: 'env.example' }).allowedHosts
      ).toEqual([]);
    });

    it('keeps a single host', () => {
      expect(resolveSettings({}, { GATEWAY_ALLOWED_HOSTS: 'gateway.local' }).allowedHosts).toEqual([
        'gateway.local'
      ]);
    });
  });

  it('throws errors named SettingsError', () => {
    expect(() => resolveSettings({ port: 'x' }, {})).toThrow(
      expect.objectContaining({ name: 'SettingsError' })
    );
  });
});
