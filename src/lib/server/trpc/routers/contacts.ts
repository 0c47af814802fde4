import { z } from 'zod';
import { authedProcedure, operatorProcedure, router } from '../init';
import { contactListInput, contactUpdateInput } from '../../../schemas/contacts';
import { contactId } from '../../../schemas/targets';
import { getContact, listContacts, tagCounts, updateContact } from '../../contacts/service';

export const contactsRouter = router({
	list: authedProcedure.input(contactListInput).query(({ input }) => listContacts(input)),
	tags: authedProcedure
		.input(z.object({ limit: z.number().int().min(1).max(5000).default(500) }).optional())
		.query(({ input }) => tagCounts(input?.limit)),
	get: authedProcedure.input(z.object({ id: contactId })).query(({ input }) => getContact(input.id)),
	update: operatorProcedure.input(contactUpdateInput).mutation(({ input, ctx }) => updateContact(input, ctx))
});
