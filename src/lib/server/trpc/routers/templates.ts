import { authedProcedure, operatorProcedure, router } from '../init';
import { templateCreate, templateId, templatePreview, templateUpdate } from '../../../schemas/templates';
import { createTemplate, deleteTemplate, getTemplate, listTemplates, previewTemplate, updateTemplate } from '../../templates/service';

export const templatesRouter = router({
	list: authedProcedure.query(() => listTemplates()),
	get: authedProcedure.input(templateId).query(({ input }) => getTemplate(input.id)),
	create: operatorProcedure.input(templateCreate).mutation(({ input, ctx }) => createTemplate(input, ctx.user.id, ctx)),
	update: operatorProcedure.input(templateUpdate).mutation(({ input, ctx }) => updateTemplate(input, ctx)),
	delete: operatorProcedure.input(templateId).mutation(({ input, ctx }) => deleteTemplate(input.id, ctx)),
	/** Renders a body for sample recipients and counts those missing a variable. */
	preview: authedProcedure.input(templatePreview).query(({ input }) => previewTemplate(input))
});
