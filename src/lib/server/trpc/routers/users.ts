import {
	userCreateInput,
	userIdInput,
	userResetPasswordInput,
	userSetDisabledInput,
	userSetRoleInput
} from '../../../schemas/accounts';
import { createUser, deleteUser, listUsers, resetPassword, setUserDisabled, setUserRole } from '../../auth/users';
import { notFound } from '../../errors';
import { adminProcedure, router } from '../init';

// Account management is the admin's. Every change that ends or alters a credential
// (disable, delete, reset, role) reaches open sockets through the batchdesk_auth notice.
export const usersRouter = router({
	list: adminProcedure.query(() => listUsers()),
	create: adminProcedure.input(userCreateInput).mutation(({ input, ctx }) => createUser(input, ctx)),
	setRole: adminProcedure.input(userSetRoleInput).mutation(async ({ input, ctx }) => {
		const row = await setUserRole(input.id, input.role, ctx);
		if (!row) throw notFound(`No user ${input.id}.`, 'id');
		return row;
	}),
	setDisabled: adminProcedure
		.input(userSetDisabledInput)
		.mutation(({ ctx, input }) => setUserDisabled(input.id, input.disabled, ctx.user.id, ctx)),
	delete: adminProcedure.input(userIdInput).mutation(({ ctx, input }) => deleteUser(input.id, ctx.user.id, ctx)),
	resetPassword: adminProcedure
		.input(userResetPasswordInput)
		.mutation(({ input, ctx }) => resetPassword(input.id, input.password, ctx))
});
