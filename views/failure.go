package views

// failureHelp is what a failure reason means and what to do about it, in an
// operator's words. Extend's reason list is open-ended (extend-api.md
// §3.1.1), so FailureExplanation also has a text for reasons it does not know.
type failureHelp struct{ meaning, action string }

var failureHelpByReason = map[string]failureHelp{
	"UNABLE_TO_DOWNLOAD_FILE": {
		"Extend could not fetch the input file from the URL it was given.",
		"Check that the URL is reachable from the internet and had not expired when the run started (presigned URLs should stay valid 5–15 minutes), then re-run. Uploading the file instead avoids the download.",
	},
	"FILE_TYPE_NOT_SUPPORTED": {
		"Edit runs need a PDF, and this file is another type.",
		"Convert the document to PDF (a fillable form works best) and start a new run with it.",
	},
	"FILE_SIZE_TOO_LARGE": {
		"The file is larger than Extend accepts for edit runs.",
		"Make it smaller: drop pages that need no filling, downsample scanned images, or split the document, then start a new run.",
	},
	"CORRUPT_FILE": {
		"Extend could not read the file: it is damaged or not a valid PDF.",
		"Open it in a PDF viewer to confirm, re-export or re-save it (printing to PDF often repairs it), and start a new run with the new file.",
	},
	"FIELD_DETECTION_ERROR": {
		"Automatic detection of the form's fields failed.",
		"Re-run once, since detection can fail transiently. If it fails again, supply a schema yourself, or enable “native fields only” for PDFs with real form fields.",
	},
	"PASSWORD_PROTECTED_FILE": {
		"The PDF is protected with a password, so Extend cannot open it.",
		"Remove the password, or pass it in the file's settings (file.settings.password) when creating the run.",
	},
	"FAILED_TO_CONVERT_TO_PDF": {
		"Extend could not convert the input into a PDF.",
		"Convert the document to PDF yourself and start a new run with the PDF.",
	},
	"INTERNAL_ERROR": {
		"Something unexpected went wrong inside Extend; nothing about your input is known to be wrong.",
		"Re-run it. If it keeps failing, contact Extend support and quote the run ID.",
	},
	"INVALID_OPTIONS": {
		"The run's configuration holds options Extend does not accept.",
		"Check the advanced options, the engine version and the template against Extend's configuration reference, correct them, and start a new run.",
	},
	"EMPTY_SCHEMA": {
		"No schema was given and field detection found no fields to fill.",
		"Provide a schema listing the fields to fill, or check that the PDF really is a form; for scanned forms, detection instructions can help.",
	},
	"OUT_OF_CREDITS": {
		"The organization has run out of Extend credits, so the run was not processed.",
		"Ask your Extend administrator to add credits or lift the usage block, then re-run.",
	},
	"SCHEMA_VALIDATION_ERROR": {
		"The values Extend generated did not validate against the edit schema, including its required fields and conditional rules.",
		"Review the schema's required fields and conditional rules (if/then, dependentRequired) and the instructions; correct or loosen them, then re-run.",
	},
}

// FailureExplanation says what a failure reason means and what to do, for
// the 12 documented reasons, with a sensible text for any other (Extend may
// add reasons) and for a failure without a reason.
func FailureExplanation(reason string) (meaning, action string) {
	if help, ok := failureHelpByReason[reason]; ok {
		return help.meaning, help.action
	}
	if reason == "" {
		return "The run failed without a reason code.",
			"Read Extend's message, re-run once, and if it fails again contact Extend support with the run ID."
	}
	return "Extend reported a failure reason (" + reason + ") that this version of Editwatch does not know yet.",
		"Read Extend's message for details, re-run once, and if it fails again contact Extend support with the run ID."
}
