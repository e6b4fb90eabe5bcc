/**
 * `POST /v1/screen`: screen one text (`{id, text, direction}`) or several (`{items: [...]}`, at most 1,000)
 * with the server's detectors, size limit and action table, and answer in the `warden screen` format
 * (`{id, verdict, findings}`, or `{results: [...]}`). Nothing is stored or changed, and the texts are not
 * logged. Any admin role may call it. A text over `screen.maxBytes` is 413 WARDEN_SCREEN_TOO_LARGE.
 */
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AdminRole } from '../identity/types.js';
import type { ActionTable } from '../screen/actions.js';
import type { Screener } from '../screen/screener.js';
import { screenItem, screenItemSchema } from '../screen/screen-item.js';
import './principal.js';

export interface ScreenRoutesOptions {
  readonly screener: Screener;
  readonly actions: ActionTable;
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

const findingSchema = z.strictObject({
  category: z.enum(['prompt_injection', 'secret', 'pii']),
  type: z.string(),
  start: z.number().int(),
  end: z.number().int(),
  score: z.number(),
});
const answerSchema = z.strictObject({ id: z.string(), verdict: z.enum(['allow', 'redact', 'block']), findings: z.array(findingSchema) });

export function screenRoutes({ screener, actions, requireAdmin }: ScreenRoutesOptions): FastifyPluginAsync {
  const anyAdmin = requireAdmin('admin', 'security', 'auditor');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/v1/screen',
      {
        onRequest: anyAdmin,
        schema: {
          body: z.union([screenItemSchema, z.strictObject({ items: z.array(screenItemSchema).min(1).max(1000) })]),
          response: { 200: z.union([answerSchema, z.strictObject({ results: z.array(answerSchema) })]) },
        },
      },
      async (request) => {
        const body = request.body;
        if ('items' in body) return { results: body.items.map((item) => screenItem(item, screener, actions)) };
        return screenItem(body, screener, actions);
      },
    );
  };
}
