import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z, ZodError } from 'zod';
import { DomainError, type DomainErrorCode } from '../errors';
import type { Context } from './context';
import type { Role } from '../db/schema';
import { env } from '../env';
import { logger } from '../log';
import { unstorable } from '../../schemas/text';
import { errorRef } from '../error-ref';

const log = logger.child({ module: 'trpc' });

/**
 * What a procedure sees: the caller (context.ts) and, over HTTP, how many calls the
 * request carried (a batch of one is how httpBatchLink sends a lone call).
 */
export type TrpcContext = Context & { callsInRequest?: number };

const CODE: Record<DomainErrorCode, TRPC_ERROR_CODE_KEY> = {
	BAD_INPUT: 'BAD_REQUEST',
	NOT_FOUND: 'NOT_FOUND',
	CONFLICT: 'CONFLICT',
	FORBIDDEN: 'FORBIDDEN',
	UNAUTHORIZED: 'UNAUTHORIZED',
	TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
	PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
	PRECONDITION_FAILED: 'PRECONDITION_FAILED'
};

const t = initTRPC.context<TrpcContext>().create({
	transformer: superjson,
	// Stack traces in error responses only under the dev server: `node build` / server.js
	// run without NODE_ENV, and tRPC would otherwise treat that as development. Added per
	// error below (NODE_ENV through env()), so importing this file reads no setting.
	isDev: false,
	errorFormatter({ shape, error, path }) {
		const cause = error.cause;
		if (error.code === 'INTERNAL_SERVER_ERROR') {
			// A raw database error's message carries its statement and every parameter (a
			// token hash for tokens.create): the client gets a reference, the log the details.
			const ref = errorRef();
			log.error({ err: cause ?? error, path, ref }, 'procedure failed');
			shape = { ...shape, message: `Internal error (ref ${ref}). The details are in the server log.` };
		}
		return {
			...shape,
			data: {
				...shape.data,
				...(env().web.isDev && error.stack ? { stack: error.stack } : {}),
				// The field-by-field zod issues, so a form can show each next to its input.
				zodError:
					cause instanceof ZodError
						? z.flattenError(cause)
						: cause instanceof UnstorableInput
							? { formErrors: [], fieldErrors: { [String(cause.path[0] ?? 'input')]: [cause.message] } }
							: null,
				field: cause instanceof DomainError ? (cause.field ?? null) : cause instanceof UnstorableInput ? cause.path.join('.') : null,
				...(cause instanceof DomainError && cause.reason ? { reason: cause.reason } : {})
			}
		};
	}
});

/** The one place where domain errors become tRPC codes; anything else stays a 500. */
const mapErrors = t.middleware(async ({ next }) => {
	const result = await next();
	if (!result.ok && result.error.cause instanceof DomainError) {
		const cause = result.error.cause;
		throw new TRPCError({ code: CODE[cause.code], message: cause.message, cause });
	}
	return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/**
 * PostgreSQL cannot store NUL or a lone surrogate: refused here for every string of every
 * procedure's raw input (a field error naming its path), before any schema runs. The
 * schemas refuse them too (schemas/text.ts); this catches the fields of schemas that
 * do not use those helpers yet.
 */
const storableInput = t.middleware(async ({ getRawInput, next }) => {
	const bad = findUnstorable(await getRawInput().catch(() => undefined));
	if (bad) {
		const cause = new UnstorableInput(bad.path, `Text ${bad.why}`);
		throw new TRPCError({ code: 'BAD_REQUEST', message: `${bad.path.join('.') || 'input'}: ${cause.message}`, cause });
	}
	return next();
});

/** A string of the raw input PostgreSQL cannot store; answered like a zod field error. */
class UnstorableInput extends Error {
	constructor(
		readonly path: (string | number)[],
		message: string
	) {
		super(message);
	}
}

function findUnstorable(v: unknown, path: (string | number)[] = [], depth = 0): { path: (string | number)[]; why: string } | null {
	if (depth > 32) return null;
	if (typeof v === 'string') {
		const why = unstorable(v);
		return why ? { path, why } : null;
	}
	if (Array.isArray(v)) {
		for (let i = 0; i < v.length; i++) {
			const r = findUnstorable(v[i], [...path, i], depth + 1);
			if (r) return r;
		}
	} else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
		for (const [k, x] of Object.entries(v)) {
			const why = unstorable(k);
			if (why) return { path: [...path, k], why };
			const r = findUnstorable(x, [...path, k], depth + 1);
			if (r) return r;
		}
	}
	return null;
}

const base = t.procedure.use(mapErrors);
export const publicProcedure = base.use(storableInput);

/**
 * For calls that must be made alone: a batch runs its calls concurrently, which turned
 * one request into 100 password checks (auth.login). A batch of one is a lone call.
 * HTTP only: a socket's message runs up to WS_MAX_BATCH calls at once and its context is
 * the connection's, so a call cannot tell how many came with it (10 guesses a message);
 * and a socket cannot carry the session cookie that signing in sets.
 */
export const loneProcedure = base
	.use(({ ctx, next }) => {
		if (ctx.overSocket) {
			throw new TRPCError({ code: 'BAD_REQUEST', message: 'This call is made over HTTP (POST /api/trpc/…), not over the WebSocket.' });
		}
		if ((ctx.callsInRequest ?? 1) > 1) {
			throw new TRPCError({ code: 'BAD_REQUEST', message: 'This call cannot be batched with others: send it alone.' });
		}
		return next();
	})
	.use(storableInput);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
	if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
	return next({ ctx: { ...ctx, user: ctx.user } });
});

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

function requireRole(role: Role) {
	return authedProcedure.use(({ ctx, next }) => {
		if (RANK[ctx.user.role] < RANK[role]) {
			throw new TRPCError({ code: 'FORBIDDEN', message: `This needs the ${role} role.` });
		}
		return next();
	});
}

export const operatorProcedure = requireRole('operator');
export const adminProcedure = requireRole('admin');
