package cli

// CloudScout patch: the Go help renderer against the upstream text/template
// rendering (templateHelp, upstream's printHelpCustom) over apps and
// commands that use every part of the built-in templates.

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"text/tabwriter"
	"text/template"
)

// templateHelp is upstream's printHelpCustom (v2.27.7).
func templateHelp(out io.Writer, templ string, data interface{}, wrapAt int) error {
	funcMap := template.FuncMap{
		"join":           strings.Join,
		"subtract":       subtract,
		"indent":         indent,
		"nindent":        nindent,
		"trim":           strings.TrimSpace,
		"wrap":           func(input string, offset int) string { return wrap(input, offset, wrapAt) },
		"offset":         offset,
		"offsetCommands": offsetCommands,
	}
	w := tabwriter.NewWriter(out, 1, 8, 2, ' ', 0)
	t := template.Must(template.New("help").Funcs(funcMap).Parse(templ))
	templates := map[string]string{
		"helpNameTemplate":                  helpNameTemplate,
		"usageTemplate":                     usageTemplate,
		"descriptionTemplate":               descriptionTemplate,
		"visibleCommandTemplate":            visibleCommandTemplate,
		"copyrightTemplate":                 copyrightTemplate,
		"versionTemplate":                   versionTemplate,
		"visibleFlagCategoryTemplate":       visibleFlagCategoryTemplate,
		"visibleFlagTemplate":               visibleFlagTemplate,
		"visibleGlobalFlagCategoryTemplate": strings.Replace(visibleFlagCategoryTemplate, "OPTIONS", "GLOBAL OPTIONS", -1),
		"authorsTemplate":                   authorsTemplate,
		"visibleCommandCategoryTemplate":    visibleCommandCategoryTemplate,
	}
	for name, value := range templates {
		template.Must(t.New(name).Parse(value))
	}
	if err := t.Execute(w, data); err != nil {
		return err
	}
	return w.Flush()
}

func renderHelpTabbed(templ string, data interface{}, wrapAt int) string {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 1, 8, 2, ' ', 0)
	_, _ = io.WriteString(w, renderHelp(templ, data, wrapAt))
	_ = w.Flush()
	return b.String()
}

func TestRenderHelpMatchesTemplates(t *testing.T) {
	long := "a usage line long enough to be wrapped when the wrap column is small, with more words"
	flags := func(category string) []Flag {
		return []Flag{
			&StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "configuration `FILE`", EnvVars: []string{"APP_CONFIG"}, Category: category},
			&BoolFlag{Name: "verbose", Usage: long},
			&IntFlag{Name: "count", Value: 3, Usage: "how many", Category: category},
			&StringSliceFlag{Name: "listen", Usage: "listener `URL`; repeatable"},
			&StringFlag{Name: "hidden", Hidden: true},
		}
	}
	sub := func(category string) []*Command {
		return []*Command{
			{Name: "add", Usage: "add a thing", Category: category, Flags: flags(""), ArgsUsage: "NAME"},
			{Name: "list", Aliases: []string{"ls"}, Usage: long, Category: category},
			{Name: "secret", Hidden: true},
			{Name: "remove", Aliases: []string{"rm", "del"}, Usage: "remove\na thing", Args: true},
		}
	}
	apps := map[string]func() *App{
		"minimal": func() *App { return &App{Name: "app"} },
		"full": func() *App {
			return &App{
				Name: "app", Usage: long, Version: "1.2.3", Description: "line one\nline two\n\nline four " + long,
				Authors:   []*Author{{Name: "A", Email: "a@example.com"}, {Name: "B"}},
				Copyright: "(c) someone\nall rights", Flags: flags(""), Commands: sub(""),
			}
		},
		"categories": func() *App {
			return &App{
				Name: "app", Usage: "u", HideVersion: true, Version: "9", Authors: []*Author{{Name: "Solo"}},
				Flags: flags("Main"), Commands: append(sub("Things"), &Command{Name: "plain", Usage: "no category"}),
			}
		},
		"usage-text": func() *App {
			return &App{Name: "app", UsageText: "app [options] FILE\n   app other", ArgsUsage: "FILE", Args: true}
		},
		"args": func() *App { return &App{Name: "app", Args: true, HideHelp: true} },
	}
	for name, mk := range apps {
		for _, wrapAt := range []int{10000, 40} {
			a := mk()
			a.Writer = io.Discard
			a.Setup()
			var want bytes.Buffer
			if err := templateHelp(&want, AppHelpTemplate, a, wrapAt); err != nil {
				t.Fatal(err)
			}
			if got := renderHelpTabbed(AppHelpTemplate, a, wrapAt); got != want.String() {
				t.Errorf("%s app (wrap %d):\n got %q\nwant %q", name, wrapAt, got, want.String())
			}
			for _, c := range a.Commands {
				c.HelpName = a.Name + " " + c.Name
				for _, templ := range []string{CommandHelpTemplate, SubcommandHelpTemplate} {
					want.Reset()
					if err := templateHelp(&want, templ, c, wrapAt); err != nil {
						t.Fatal(err)
					}
					if got := renderHelpTabbed(templ, c, wrapAt); got != want.String() {
						t.Errorf("%s command %s (wrap %d):\n got %q\nwant %q", name, c.Name, wrapAt, got, want.String())
					}
				}
			}
		}
	}
	// Through the real help paths: app, command and subcommand help of a
	// command group, printed once by each implementation.
	for _, args := range [][]string{{"app", "--help"}, {"app", "grp", "--help"}, {"app", "grp", "add", "--help"},
		{"app", "grp", "help", "list"}, {"app", "grp", "x", "-h"}} {
		run := func(printer helpPrinterCustom) string {
			defer func(old helpPrinterCustom) { HelpPrinterCustom = old }(HelpPrinterCustom)
			HelpPrinterCustom = printer
			parent := &Command{Name: "grp", Usage: "group", Category: "Cat", Description: "d\ne",
				Subcommands: append(sub("Sub"), &Command{Name: "x", Usage: "plain"}), Flags: flags("F")}
			var out bytes.Buffer
			a := &App{Name: "app", Usage: "u", Commands: []*Command{parent, {Name: "other"}}, Writer: &out, ErrWriter: io.Discard}
			if err := a.Run(args); err != nil {
				t.Fatalf("%q: %v", args, err)
			}
			return out.String()
		}
		want := run(func(w io.Writer, templ string, data interface{}, _ map[string]interface{}) {
			if err := templateHelp(w, templ, data, 10000); err != nil {
				t.Fatalf("%q: %v", args, err)
			}
		})
		got := run(printHelpCustom)
		if got != want || !strings.Contains(got, "USAGE:") {
			t.Errorf("%q:\n got %q\nwant %q", args, got, want)
		}
	}
	// 'app help grp' before grp has run: upstream's template fails on the
	// categories that are not set up yet and leaves the COMMANDS list out.
	var out bytes.Buffer
	grp := &Command{Name: "grp", Subcommands: []*Command{{Name: "add", Usage: "add it"}, {Name: "rm", Category: "C"}}}
	a := &App{Name: "app", Commands: []*Command{grp}, Writer: &out}
	if err := a.Run([]string{"app", "help", "grp"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "COMMANDS:\n   add      add it\n   help, h  Shows") || !strings.Contains(out.String(), "   C:\n     rm") {
		t.Errorf("app help grp:\n%s", out.String())
	}
}
