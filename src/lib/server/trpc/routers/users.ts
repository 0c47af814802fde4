import { z } from 'zod';
import { ROLES } from '../../db/schema';
import { createUser, listUsers, setUserRole } from '../../auth/users';
import { notFound } from '../../errors';
import { adminProcedure, router } from '../init';

export const usersRouter = router({
	list: adminProcedure.query(() => listUsers()),
	create: adminProcedure
		.input(
			z.object({
				email: z.string().trim().email(),
				password: z.string().min(8).max(1024),
				role: z.enum(ROLES)
			})
		)
		.mutation(({ input }) => createUser(input)),
	setRole: adminProcedure
		.input(z.object({ id: z.number().int().positive(), role: z.enum(ROLES) }))
		.mutation(async ({ input }) => {
			const row = await setUserRole(input.id, input.role);
			if (!row) throw notFound(`No user ${input.id}.`, 'id');
			return row;
		})
});
