import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z, ZodError } from 'zod';
import { DomainError, type DomainErrorCode } from '../errors';
import type { Context } from './context';
import type { Role } from '../db/schema';
import { env } from '../env';

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

const t = initTRPC.context<Context>().create({
	transformer: superjson,
	// Stack traces in error responses only under the dev server: `node build` / server.js
	// run without NODE_ENV, and tRPC would otherwise treat that as development. Added per
	// error below (NODE_ENV through env()), so importing this file reads no setting.
	isDev: false,
	errorFormatter({ shape, error }) {
		const cause = error.cause;
		return {
			...shape,
			data: {
				...shape.data,
				...(env().web.isDev && error.stack ? { stack: error.stack } : {}),
				// The field-by-field zod issues, so a form can show each next to its input.
				zodError: cause instanceof ZodError ? z.flattenError(cause) : null,
				field: cause instanceof DomainError ? (cause.field ?? null) : null
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

export const publicProcedure = t.procedure.use(mapErrors);

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
