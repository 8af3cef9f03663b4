package views

func optionValueClass(value string) string {
	switch value {
	case "true":
		return "font-medium text-emerald-700 dark:text-emerald-400"
	case "false":
		return "text-slate-500 dark:text-slate-400"
	}
	return "italic text-slate-500 dark:text-slate-400"
}
