/**
 * OCSF mapping: derived fields (category, type, severity, status, time), metadata merge, the
 * `unmapped.warden` verification data, checkpoint coverage, and entries without a readable body.
 */
import { describe, expect, it } from 'vitest';
import { OCSF_VERSION, toOcsfEvent } from './ocsf.js';
import { makeEntry } from '../../testing/audit-sinks.js';

const checkpoint = { size: 10, root: Buffer.alloc(32, 7), note: 'warden.example/log\n10\nroot\n\n— sig\n' };

describe('toOcsfEvent', () => {
  it('maps an API Activity entry with the OCSF derived fields', () => {
    const entry = makeEntry(3, {
      source: { ip: '10.0.0.1', requestId: 'req-1' },
      resource: { type: 'tool', id: 'github.create_issue' },
      details: { upstream: 'github' },
      sensitive: { arguments: '{"title":"x"}' },
    });
    const event = toOcsfEvent(entry, checkpoint);
    expect(event).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 1,
      type_uid: 600301,
      severity_id: 1,
      status_id: 1,
      status: 'success',
      time: 1_700_000_000_003,
      action: 'mcp.call_tool',
      actor: { type: 'agent', id: 'agent-1' },
      src_endpoint: { ip: '10.0.0.1' },
      resource: { type: 'tool', id: 'github.create_issue' },
      details: { upstream: 'github' },
      metadata: {
        version: OCSF_VERSION,
        product: { name: 'Warden', vendor_name: 'Warden' },
        uid: '3',
        request_id: 'req-1',
      },
      unmapped: {
        warden: {
          index: 3,
          leaf_hash: entry.leafHash.toString('base64'),
          checkpoint: { size: 10, root: checkpoint.root.toString('base64'), note: checkpoint.note },
        },
      },
    });
    expect(event.hashed).toEqual({ arguments: expect.stringMatching(/^hmac-sha256:/) as unknown });
    expect(event).not.toHaveProperty('index');
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });

  it('derives category and type for each class Warden writes', () => {
    const cases = [
      ['authentication', 2, 3002, 3, 300202],
      ['entity_management', 4, 3004, 3, 300404],
      ['detection_finding', 99, 2004, 2, 200499],
    ] as const;
    for (const [cls, activityId, classUid, categoryUid, typeUid] of cases) {
      const event = toOcsfEvent(makeEntry(0, { class: cls, activityId }));
      expect([event.class_uid, event.category_uid, event.type_uid]).toEqual([classUid, categoryUid, typeUid]);
    }
  });

  it('raises severity to 3 for a failure or a deny decision', () => {
    const failed = toOcsfEvent(makeEntry(0, { outcome: 'failure' }));
    expect([failed.severity_id, failed.status_id, failed.status]).toEqual([3, 2, 'failure']);
    const denied = toOcsfEvent(
      makeEntry(1, { decision: { id: 'd-1', effect: 'deny', policyIds: ['p-1'], policySetVersion: 'v3' } }),
    );
    expect([denied.severity_id, denied.status_id]).toEqual([3, 1]);
    expect(denied.decision).toEqual({ id: 'd-1', effect: 'deny', policy_ids: ['p-1'], policy_set_version: 'v3' });
    const allowed = toOcsfEvent(makeEntry(2, { decision: { id: 'd-2', effect: 'allow', policyIds: [] } }));
    expect(allowed.severity_id).toBe(1);
  });

  it('attaches the checkpoint only when it covers the entry', () => {
    expect(toOcsfEvent(makeEntry(9), checkpoint).unmapped.warden.checkpoint?.size).toBe(10);
    expect(toOcsfEvent(makeEntry(10), checkpoint).unmapped.warden).not.toHaveProperty('checkpoint');
    expect(toOcsfEvent(makeEntry(0)).unmapped.warden).not.toHaveProperty('checkpoint');
  });

  it('maps an entry whose body retention removed to a minimal event with index and leaf hash', () => {
    const leaf = Buffer.alloc(32, 1);
    const event = toOcsfEvent({ index: 42, leafHash: leaf, body: null }, { ...checkpoint, size: 100 });
    expect(event).toEqual({
      class_uid: 0,
      category_uid: 0,
      activity_id: 0,
      type_uid: 0,
      severity_id: 1,
      status_id: 0,
      metadata: { version: OCSF_VERSION, product: { name: 'Warden', vendor_name: 'Warden' }, uid: '42' },
      unmapped: {
        warden: {
          index: 42,
          leaf_hash: leaf.toString('base64'),
          body_removed: true,
          checkpoint: { size: 100, root: checkpoint.root.toString('base64'), note: checkpoint.note },
        },
      },
    });
  });

  it('keeps an unreadable body verbatim instead of failing the export', () => {
    for (const body of ['{not json', '[1,2]', '{"class_uid":"6003"}', '{"time":"yesterday","class_uid":1,"activity_id":1,"status":"success"}']) {
      const event = toOcsfEvent({ index: 1, leafHash: Buffer.alloc(32), body });
      expect(event.class_uid).toBe(0);
      expect(event.unmapped.warden.invalid_body).toBe(body);
    }
  });
});
