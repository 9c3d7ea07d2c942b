import { API_ERROR_SCHEMA } from './api-error.js';
import { CALL_OUTCOMES } from '../../store/activity-log.js';
import { AUDIT_EVENTS } from '../../store/audit-log.js';

/**
 * The OpenAPI 3.1 description of the REST API, health and metrics routes. Tests hold it true: its
 * paths and the routes the app registers are the same set (test/unit/openapi.test.ts), and every
 * operation's real answers have a documented status and match its schema, object schemas read as
 * closed so an undocumented field fails (test/integration/openapi-conformance.test.ts).
 */
export function openApiDocument(version: string): Record<string, unknown> {
  const json = (schema: Record<string, unknown>, description = 'OK') => ({
    description,
    content: { 'application/json': { schema } }
  });
  const error = json({ $ref: '#/components/schemas/Error' }, 'Error');
  const idParam = (name: string, description: string) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' }
  });
  const query = (name: string, description: string, schema: Record<string, unknown>) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema
  });
  const serverRef = { $ref: '#/components/schemas/Server' };
  const loginRef = { $ref: '#/components/schemas/Login' };
  // The fields every MCP catalog item may carry (BaseMetadata, Icons, _meta).
  const mcpItem = {
    name: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    icons: { type: 'array', items: { type: 'object' } },
    _meta: { type: 'object' }
  };
  const resourceFields = { mimeType: { type: 'string' }, annotations: { type: 'object' } };
  const routedTo = {
    type: ['string', 'null'],
    description: 'the server it routes to; null when none does now'
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'mcp-gateway',
      version,
      description: 'Operator API of mcp-gateway. The MCP endpoint itself is /mcp (Streamable HTTP).'
    },
    paths: {
      '/healthz': {
        get: {
          summary: 'Liveness: always 200 while the process serves',
          responses: { 200: json({ $ref: '#/components/schemas/Health' }) }
        }
      },
      '/readyz': {
        get: {
          summary: 'Readiness: config loaded, store writable, Docker engine reachable when needed',
          responses: {
            200: json({ $ref: '#/components/schemas/Readiness' }),
            503: json({ $ref: '#/components/schemas/Readiness' }, 'Not ready')
          }
        }
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            200: {
              description: 'Prometheus text format',
              content: { 'text/plain': { schema: { type: 'string' } } }
            }
          }
        }
      },
      '/api/openapi.json': {
        get: { summary: 'This document', responses: { 200: json({ type: 'object' }) } }
      },
      '/api/servers': {
        get: {
          summary: 'Every server and its state',
          responses: {
            200: json({ type: 'object', properties: { servers: { type: 'array', items: serverRef } } })
          }
        }
      },
      '/api/servers/{id}/start': {
        post: {
          summary: 'Start a server now (it then stops after its idle timeout like any other)',
          parameters: [idParam('id', 'server id')],
          responses: { 200: json(serverRef), 404: error, 502: error, 503: error }
        }
      },
      '/api/servers/{id}/stop': {
        post: {
          summary: 'Stop a server now',
          parameters: [idParam('id', 'server id')],
          responses: { 200: json(serverRef), 404: error }
        }
      },
      '/api/servers/{id}/login': {
        description:
          'For a server with credentials: per-user, the login is the caller’s own, and any authenticated principal may use these (not only admins); for the others, the gateway’s, admin only.',
        post: {
          summary:
            'Start an OAuth login to a remote server with auth: oauth; open the answered authorizationUrl in a browser, which comes back to the gateway’s /remote-oauth/callback',
          parameters: [idParam('id', 'server id')],
          responses: { 200: json(loginRef), 404: error, 502: error }
        },
        get: {
          summary: 'Whether the gateway holds tokens for the server, and how its last login went',
          parameters: [idParam('id', 'server id')],
          responses: { 200: json(loginRef), 404: error }
        },
        delete: {
          summary: 'Log out: forget the server’s tokens (calls to it then fail until the next login)',
          parameters: [idParam('id', 'server id')],
          responses: { 200: json(loginRef), 404: error }
        }
      },
      '/api/tools': {
        get: {
          summary: 'The namespaced catalog, with the server and original name of each tool',
          responses: {
            200: json({
              type: 'object',
              properties: { tools: { type: 'array', items: { $ref: '#/components/schemas/Tool' } } }
            })
          }
        }
      },
      '/api/prompts': {
        get: {
          summary: 'The namespaced prompts, each with the server it routes to (null when none does now)',
          responses: {
            200: json({
              type: 'object',
              properties: { prompts: { type: 'array', items: { $ref: '#/components/schemas/Prompt' } } }
            })
          }
        }
      },
      '/api/resources': {
        get: {
          summary:
            'The namespaced resources and resource templates, each with the server it routes to (null when none does now)',
          responses: {
            200: json({
              type: 'object',
              properties: {
                resources: { type: 'array', items: { $ref: '#/components/schemas/Resource' } },
                resourceTemplates: { type: 'array', items: { $ref: '#/components/schemas/ResourceTemplate' } }
              }
            })
          }
        }
      },
      '/api/tools/{name}/call': {
        post: {
          summary: 'Call a tool, routed like MCP tools/call; the body is the arguments object',
          parameters: [idParam('name', 'exposed tool name, e.g. time__get_current_time')],
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: {
            200: json({ $ref: '#/components/schemas/CallToolResult' }),
            400: error,
            403: json(
              { $ref: '#/components/schemas/Error' },
              'Refused: the tool is held until approved (quarantined), or the caller may not use it (forbidden)'
            ),
            404: error,
            499: error,
            502: error,
            503: error,
            504: error
          }
        }
      },
      '/api/sessions': {
        get: {
          summary:
            'Open and recent 2025-era sessions, and 2026-era clients grouped by principal, name and version',
          parameters: [
            query('state', 'which sessions', {
              type: 'string',
              enum: ['open', 'closed', 'all'],
              default: 'all'
            }),
            query('limit', 'at most this many of each', {
              type: 'integer',
              minimum: 1,
              maximum: 1000,
              default: 100
            })
          ],
          responses: {
            200: json({
              type: 'object',
              properties: {
                sessions: { type: 'array', items: { $ref: '#/components/schemas/Session' } },
                clients: { type: 'array', items: { $ref: '#/components/schemas/Client' } }
              }
            }),
            400: error
          }
        }
      },
      '/api/sessions/{id}': {
        get: {
          summary: 'One session with its requests',
          parameters: [idParam('id', 'session id (Mcp-Session-Id)')],
          responses: { 200: json({ $ref: '#/components/schemas/Session' }), 404: error }
        }
      },
      '/api/requests': {
        get: {
          summary: 'Recorded tools/call requests, newest first',
          parameters: [
            query('server', 'server id', { type: 'string' }),
            query('tool', 'exposed tool name', { type: 'string' }),
            query('outcome', 'how it ended', {
              type: 'string',
              enum: [...CALL_OUTCOMES]
            }),
            query('session', 'session id', { type: 'string' }),
            query('profile', 'the profile the call came through (/mcp/<profile>)', { type: 'string' }),
            query('since', 'ISO 8601 date-time', { type: 'string', format: 'date-time' }),
            query('before', 'page: requests with a smaller id (the previous nextBefore)', {
              type: 'integer'
            }),
            query('after', 'only requests with a greater id (the newest id a reader has)', {
              type: 'integer',
              minimum: 0
            }),
            query('limit', 'page size', { type: 'integer', minimum: 1, maximum: 1000, default: 100 })
          ],
          responses: {
            200: json({
              type: 'object',
              properties: {
                requests: { type: 'array', items: { $ref: '#/components/schemas/Request' } },
                nextBefore: { type: ['integer', 'null'] }
              }
            }),
            400: error
          }
        }
      },
      '/api/reload': {
        post: {
          summary:
            'Reload servers.yaml now: applied by difference when it is good (200), refused whole with its problems when not (422; the running config stays)',
          responses: {
            200: json({ $ref: '#/components/schemas/Reload' }),
            422: json({ $ref: '#/components/schemas/Reload' }, 'The config was refused')
          }
        },
        get: {
          summary: 'The last reload’s result (null before the first)',
          responses: {
            200: json({
              type: 'object',
              properties: { last: { anyOf: [{ $ref: '#/components/schemas/Reload' }, { type: 'null' }] } }
            })
          }
        }
      },
      '/api/quarantine': {
        get: {
          summary:
            'Every item held back until approved (pinned definitions): tools, prompts and resource templates that changed since they were approved or are new on a server with trust: manual, and Docker images whose id changed; each with the approved and the current definition and a line diff',
          responses: {
            200: json({
              type: 'object',
              properties: {
                items: { type: 'array', items: { $ref: '#/components/schemas/QuarantinedItem' } }
              }
            })
          }
        }
      },
      '/api/servers/{id}/approve': {
        post: {
          summary:
            'Approve what is held of a server: every held item, or those `items` names (the server’s own name, kind:name, the exposed name, or "image"); they are pinned anew and listed again (list_changed). 409 when nothing of the server is held, or an item named is not, naming what is',
          parameters: [idParam('id', 'server id')],
          requestBody: {
            required: false,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { items: { type: 'array', items: { type: 'string' } } },
                  additionalProperties: false
                }
              }
            }
          },
          responses: {
            200: json({
              type: 'object',
              properties: {
                approved: { type: 'array', items: { $ref: '#/components/schemas/QuarantinedItem' } },
                quarantined: {
                  type: 'array',
                  items: { $ref: '#/components/schemas/QuarantinedItem' },
                  description: 'what stays held of the server'
                }
              }
            }),
            400: error,
            404: error,
            409: error
          }
        }
      },
      '/api/tokens': {
        get: {
          summary:
            'The gateway’s tokens (never their secrets; revoked and expired ones too) and the OAuth grants in force, as `mcp-gateway token list` shows them',
          responses: {
            200: json({
              type: 'object',
              properties: {
                tokens: { type: 'array', items: { $ref: '#/components/schemas/Token' } },
                grants: { type: 'array', items: { $ref: '#/components/schemas/Grant' } }
              }
            })
          }
        }
      },
      '/api/tokens/{id}': {
        delete: {
          summary:
            'Revoke a live token or else an OAuth grant and every token issued under it, by id (as GET /api/tokens lists them), as `mcp-gateway token revoke` does; refused from its next request on. 404 when neither is live',
          parameters: [idParam('id', 'token id, or OAuth grant id')],
          responses: {
            200: json({
              type: 'object',
              properties: {
                revoked: { type: 'string' },
                kind: { type: 'string', enum: ['token', 'grant'] }
              }
            }),
            404: error
          }
        }
      },
      '/api/audit': {
        get: {
          summary: 'Security events, newest first: auth failures, token and grant changes, admin actions',
          parameters: [
            query('event', 'only this kind', {
              type: 'string',
              enum: [...AUDIT_EVENTS]
            }),
            query('before', 'page: entries with a smaller id', { type: 'integer' }),
            query('limit', 'page size', { type: 'integer', minimum: 1, maximum: 1000, default: 100 })
          ],
          responses: {
            200: json({
              type: 'object',
              properties: {
                entries: { type: 'array', items: { $ref: '#/components/schemas/AuditEntry' } },
                nextBefore: {
                  type: ['integer', 'null'],
                  description: 'the before of the next page; null on the last'
                }
              }
            }),
            400: error
          }
        }
      },
      '/api/events': {
        get: {
          summary:
            'Server-sent events: server_state, session_opened, session_closed, request_finished, config_reloaded, definition_quarantined, image_changed, definitions_approved',
          responses: {
            200: {
              description: 'An event stream',
              content: { 'text/event-stream': { schema: { type: 'string' } } }
            }
          }
        }
      }
    },
    components: {
      schemas: {
        Error: API_ERROR_SCHEMA,
        Tool: {
          type: 'object',
          description: 'An MCP Tool as clients see it, with the server it routes to and its name there',
          properties: {
            ...mcpItem,
            inputSchema: { type: 'object' },
            outputSchema: { type: 'object' },
            annotations: { type: 'object' },
            execution: { type: 'object' },
            server: { type: 'string' },
            serverTool: { type: 'string', description: 'the tool’s name on its server' }
          },
          required: ['name', 'inputSchema', 'server', 'serverTool']
        },
        Prompt: {
          type: 'object',
          description: 'An MCP Prompt as clients see it, with the server it routes to',
          properties: {
            ...mcpItem,
            arguments: { type: 'array', items: { type: 'object' } },
            server: routedTo
          },
          required: ['name', 'server']
        },
        Resource: {
          type: 'object',
          description: 'An MCP Resource as clients see it, with the server it routes to',
          properties: {
            ...mcpItem,
            ...resourceFields,
            uri: { type: 'string' },
            size: { type: 'number' },
            server: routedTo
          },
          required: ['uri', 'name', 'server']
        },
        ResourceTemplate: {
          type: 'object',
          description: 'An MCP ResourceTemplate as clients see it, with the server it routes to',
          properties: { ...mcpItem, ...resourceFields, uriTemplate: { type: 'string' }, server: routedTo },
          required: ['uriTemplate', 'name', 'server']
        },
        Reload: {
          type: 'object',
          properties: {
            ok: { type: 'boolean', description: 'false: refused, nothing changed' },
            trigger: { enum: ['file', 'signal', 'api'] },
            at: { type: 'string', format: 'date-time' },
            file: { type: 'string' },
            problems: { type: 'array', items: { type: 'string' }, description: 'file:line:col: message' },
            added: { type: 'array', items: { type: 'string' } },
            removed: { type: 'array', items: { type: 'string' } },
            changed: { type: 'array', items: { type: 'string' } },
            unchanged: { type: 'array', items: { type: 'string' } },
            profiles: {
              type: 'object',
              description: 'the profiles added, removed and changed, by name',
              properties: {
                added: { type: 'array', items: { type: 'string' } },
                removed: { type: 'array', items: { type: 'string' } },
                changed: { type: 'array', items: { type: 'string' } }
              }
            },
            restartNeeded: {
              type: 'array',
              items: { type: 'string' },
              description:
                'settings that differ in the file from those the gateway started with and apply only at a restart, e.g. gateway.port'
            },
            warnings: { type: 'array', items: { type: 'string' } },
            error: {
              ...API_ERROR_SCHEMA.properties.error,
              description: 'only when refused (422): code config_refused and what to do'
            }
          }
        },
        Readiness: {
          type: 'object',
          properties: {
            ready: { type: 'boolean' },
            checks: { type: 'object' },
            problems: { type: 'array', items: { type: 'string' } },
            unavailable: {
              type: 'array',
              description: 'servers that cannot serve (not counted against readiness: the others serve)',
              items: { $ref: '#/components/schemas/ServerProblem' }
            }
          }
        },
        ServerProblem: {
          type: 'object',
          properties: {
            server: { type: 'string' },
            reason: { type: 'string', description: 'why, and what to do' }
          },
          required: ['server', 'reason']
        },
        Health: {
          type: 'object',
          properties: {
            status: {
              type: 'string',
              enum: ['ok', 'degraded'],
              description: 'degraded: a server cannot serve'
            },
            version: { type: 'string' },
            discovering: { type: 'boolean', description: 'servers are still being listed' },
            sessions: { type: 'integer', description: 'open 2025-era sessions' },
            docker: {
              type: 'object',
              description: 'when a server runs in Docker: the engine as last seen',
              properties: { reachable: { type: 'boolean' }, error: { type: 'string' } }
            },
            servers: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  runtime: { type: 'string', enum: ['docker', 'process', 'remote'] },
                  state: { type: 'string', enum: ['stopped', 'starting', 'ready', 'stopping', 'failed'] },
                  startedAt: { type: ['string', 'null'], format: 'date-time' },
                  lastUsed: { type: ['string', 'null'], format: 'date-time' },
                  inFlight: { type: 'integer' },
                  restarts: { type: 'integer' },
                  lastError: { type: ['string', 'null'] },
                  nextDiscovery: {
                    type: ['string', 'null'],
                    format: 'date-time',
                    description: 'when its failed discovery is tried again; null when none is due'
                  }
                }
              }
            },
            unavailable: { type: 'array', items: { $ref: '#/components/schemas/ServerProblem' } },
            needsLogin: {
              type: 'array',
              description: 'credentials: per-user servers no principal has connected to yet',
              items: { $ref: '#/components/schemas/ServerProblem' }
            }
          }
        },
        AuditEntry: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            at: { type: 'string', format: 'date-time' },
            event: { type: 'string', enum: [...AUDIT_EVENTS] },
            principal: { type: ['string', 'null'] },
            remoteAddress: { type: ['string', 'null'] },
            detail: { description: 'what happened, by event (e.g. the action and server of an admin_action)' }
          },
          required: ['id', 'at', 'event', 'principal', 'remoteAddress', 'detail']
        },
        Login: {
          type: 'object',
          description:
            'A remote server’s OAuth login: `loggedIn` when the gateway holds tokens; `login.state` is none, pending (with `authorizationUrl`), done or failed (with `error`).',
          properties: {
            server: { type: 'string' },
            authorizationUrl: { type: 'string', description: 'POST only: the URL to open in a browser' },
            forgotten: { type: 'boolean', description: 'DELETE only: whether there were tokens to forget' },
            loggedIn: { type: 'boolean' },
            login: {
              type: 'object',
              properties: {
                state: { type: 'string', enum: ['none', 'pending', 'done', 'failed'] },
                authorizationUrl: { type: 'string' },
                startedAt: { type: 'string', format: 'date-time' },
                at: { type: 'string', format: 'date-time' },
                error: { type: 'string' }
              },
              required: ['state']
            }
          },
          required: ['server', 'loggedIn', 'login']
        },
        Server: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            description: { type: ['string', 'null'] },
            runtime: {
              type: 'string',
              enum: ['docker', 'process', 'remote'],
              description: 'The server kind'
            },
            state: { type: 'string', enum: ['stopped', 'starting', 'ready', 'stopping', 'failed'] },
            startedAt: { type: ['string', 'null'], format: 'date-time' },
            lastUsed: { type: ['string', 'null'], format: 'date-time' },
            inFlight: { type: 'integer' },
            tools: { type: 'integer' },
            restarts: { type: 'integer', description: 'Starts after the first' },
            lastError: { type: ['string', 'null'] },
            stderr: {
              type: 'array',
              items: { type: 'string' },
              description:
                'The last lines (at most 50) the server wrote to stderr, oldest first; empty for a remote server'
            },
            login: {
              type: ['string', 'null'],
              description:
                'How to log in, for a remote server with credentials: per-user; null for the others'
            },
            trust: { type: 'string', enum: ['auto', 'manual'] },
            quarantined: {
              type: 'integer',
              description: 'its items held back until approved (GET /api/quarantine has them)'
            },
            imageChange: {
              type: ['object', 'null'],
              description:
                'A Docker server’s last image change seen in this run: its tag now names another image id than the approved one; held until approved under trust: manual',
              properties: {
                image: { type: 'string' },
                from: { type: 'string' },
                to: { type: 'string' },
                at: { type: 'string', format: 'date-time' },
                held: { type: 'boolean' }
              }
            },
            nextDiscovery: {
              type: ['string', 'null'],
              format: 'date-time',
              description:
                'When its failed discovery is tried again (5 s after the first failure, doubling up to 5 minutes); null when none is due'
            }
          }
        },
        Token: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            servers: {
              type: ['array', 'null'],
              items: { type: 'string' },
              description: 'only these servers, when set'
            },
            tools: {
              type: ['array', 'null'],
              items: { type: 'string' },
              description: 'only tools matching these globs, when set'
            },
            profiles: {
              type: ['array', 'null'],
              items: { type: 'string' },
              description: 'only these profiles’ URLs, when set'
            },
            admin: { type: 'boolean' },
            createdAt: { type: 'string', format: 'date-time' },
            expiresAt: { type: ['string', 'null'], format: 'date-time' },
            revokedAt: { type: ['string', 'null'], format: 'date-time' },
            lastUsedAt: { type: ['string', 'null'], format: 'date-time' }
          }
        },
        Grant: {
          type: 'object',
          description: 'An OAuth client’s grant (auth.mode oauth), approved on the consent page',
          properties: {
            id: { type: 'string' },
            clientId: { type: 'string' },
            clientName: { type: ['string', 'null'] },
            createdAt: { type: 'string', format: 'date-time' },
            expiresAt: { type: ['string', 'null'], format: 'date-time' }
          }
        },
        QuarantinedItem: {
          type: 'object',
          properties: {
            server: { type: 'string' },
            kind: { type: 'string', enum: ['tool', 'prompt', 'resourceTemplate', 'image'] },
            name: {
              type: 'string',
              description: 'the server’s own name (a URI template; for an image, its reference)'
            },
            exposedName: { type: ['string', 'null'], description: 'the name clients see (tools, prompts)' },
            reason: { type: 'string', enum: ['changed', 'new'] },
            pinned: { description: 'the approved definition; null for a new item' },
            current: { description: 'the definition offered now' },
            diff: { type: 'string', description: 'pinned → current, line by line ("- ", "+ ", "  ")' },
            fields: {
              type: 'array',
              items: { type: 'string' },
              description: 'the top-level fields that differ'
            },
            approve: { type: 'string', description: 'the command that approves it' }
          },
          required: ['server', 'kind', 'name', 'reason', 'pinned', 'current', 'diff', 'fields', 'approve']
        },
        CallToolResult: {
          type: 'object',
          properties: {
            content: { type: 'array' },
            structuredContent: {},
            isError: { type: 'boolean' },
            _meta: { type: 'object' }
          }
        },
        Session: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            clientName: { type: ['string', 'null'] },
            clientVersion: { type: ['string', 'null'] },
            protocolVersion: { type: ['string', 'null'] },
            capabilities: {},
            userAgent: { type: ['string', 'null'] },
            remoteAddress: { type: ['string', 'null'] },
            principal: { type: ['string', 'null'] },
            openedAt: { type: 'string', format: 'date-time' },
            lastSeenAt: { type: 'string', format: 'date-time' },
            closedAt: { type: ['string', 'null'], format: 'date-time' },
            closeReason: {
              type: ['string', 'null'],
              enum: ['deleted', 'expired', 'evicted', 'shutdown', 'closed', null]
            },
            requests: { type: 'array', items: { $ref: '#/components/schemas/Request' } }
          }
        },
        Client: {
          type: 'object',
          properties: {
            key: { type: 'string' },
            principal: { type: ['string', 'null'] },
            clientName: { type: ['string', 'null'] },
            clientVersion: { type: ['string', 'null'] },
            protocolVersion: { type: ['string', 'null'] },
            firstSeenAt: { type: 'string', format: 'date-time' },
            lastSeenAt: { type: 'string', format: 'date-time' },
            requests: { type: 'integer' }
          }
        },
        Request: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            sessionId: { type: ['string', 'null'] },
            clientKey: { type: ['string', 'null'] },
            profile: { type: ['string', 'null'] },
            server: { type: ['string', 'null'] },
            tool: { type: 'string' },
            startedAt: { type: 'string', format: 'date-time' },
            durationMs: { type: 'number' },
            outcome: { type: 'string', enum: [...CALL_OUTCOMES] },
            error: { type: ['string', 'null'] },
            bytesIn: { type: 'integer' },
            bytesOut: { type: 'integer' },
            coldStart: { type: 'boolean' }
          }
        }
      }
    }
  };
}
