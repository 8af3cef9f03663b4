package views

import (
	"html"

	"github.com/a-h/templ"
)

// themeHeadScript is the only inline script: it must run before the first
// paint, so it cannot wait for app.js. It carries the CSP nonce.
func themeHeadScript(nonce string) templ.Component {
	return templ.Raw(`<script nonce="` + html.EscapeString(nonce) + `">` + themeScript + `</script>`)
}

func flashClass(kind FlashKind) string {
	switch kind {
	case FlashSuccess:
		return "border-emerald-200 bg-emerald-50 text-emerald-900 dark:border-emerald-900 dark:bg-emerald-950/60 dark:text-emerald-200"
	case FlashWarning:
		return "border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-900 dark:bg-amber-950/60 dark:text-amber-200"
	case FlashError:
		return "border-red-200 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950/60 dark:text-red-200"
	}
	return "border-sky-200 bg-sky-50 text-sky-900 dark:border-sky-900 dark:bg-sky-950/60 dark:text-sky-200"
}

func flashRole(kind FlashKind) string {
	if kind == FlashError || kind == FlashWarning {
		return "alert"
	}
	return "status"
}

func deploymentSuffix(deployment string) string {
	if deployment == "" {
		return ""
	}
	return " · " + deployment
}
