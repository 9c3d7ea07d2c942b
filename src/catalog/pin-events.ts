import type { EventHub } from '../events.js';
import type { AuditLog } from '../store/audit-log.js';
import type { PinEvent } from './pin-keeper.js';

/**
 * What each {@link PinEvent} becomes: one `/api/events` event (the dashboard's feed) and one audit
 * entry. The pin keeper logs them itself.
 */
export function pinEventWiring(events: EventHub, audit: AuditLog): (event: PinEvent) => void {
  return event => {
    const at = new Date().toISOString();
    switch (event.type) {
      case 'quarantined': {
        const { item } = event;
        const detail = {
          server: event.serverId,
          kind: item.kind,
          item: item.name,
          reason: item.reason,
          fields: item.fields
        };
        audit.record('definition_quarantined', { principal: 'gateway', detail });
        events.publish({ type: 'definition_quarantined', ...detail, at });
        return;
      }
      case 'image_changed': {
        const { serverId, image, from, to, held } = event;
        audit.record('image_changed', {
          principal: 'gateway',
          detail: { server: serverId, image, from, to, held }
        });
        events.publish({ type: 'image_changed', server: serverId, image, from, to, held, at });
        return;
      }
      case 'approved': {
        const items = event.items.map(item => `${item.kind}:${item.name}`);
        audit.record('definitions_approved', {
          ...(event.by === undefined ? {} : { principal: event.by }),
          detail: { server: event.serverId, items }
        });
        events.publish({
          type: 'definitions_approved',
          server: event.serverId,
          items,
          by: event.by ?? null,
          at
        });
        return;
      }
    }
  };
}
