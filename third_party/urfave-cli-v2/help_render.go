package cli

// CloudScout patch (see PATCHES.md): the built-in help templates of
// template.go and the fish completion template, rendered by Go code.
// text/template calls methods through reflect.Value.MethodByName, and a
// reachable call of that kind stops the Go linker from dropping any unused
// exported method in the whole binary (golang/go#72895, urfave/cli#2277):
// about 7 MB of the CloudScout binary. The output is byte for byte what the
// templates produce; help_render_test.go compares the two.

import (
	"sort"
	"strings"
)

// renderHelp writes the help text (before tab alignment) for data, an *App
// or a *Command, in the layout templ names. A custom template without
// actions is written as is; one with actions gets the built-in layout that
// fits data.
func renderHelp(templ string, data interface{}, wrapAt int) string {
	if !strings.Contains(templ, "{{") {
		return templ // a custom template without actions is plain text
	}
	var b strings.Builder
	switch d := data.(type) {
	case *App:
		renderAppHelp(&b, d, wrapAt)
	case *Command:
		withCommands := len(d.Subcommands) > 0
		switch templ {
		case CommandHelpTemplate:
			withCommands = false
		case SubcommandHelpTemplate:
			withCommands = true
		}
		renderCommandHelp(&b, d, withCommands, wrapAt)
	}
	return b.String()
}

// renderHelpName is helpNameTemplate.
func renderHelpName(b *strings.Builder, name, usage string, wrapAt int) {
	b.WriteString(wrap(name, 3, wrapAt))
	if usage != "" {
		b.WriteString(" - ")
		b.WriteString(wrap(usage, offset(name, 6), wrapAt))
	}
}

// renderArgsUsage is the tail of usageTemplate and of the App's USAGE line.
func renderArgsUsage(b *strings.Builder, argsUsage string, args bool) {
	if argsUsage != "" {
		b.WriteString(" ")
		b.WriteString(argsUsage)
	} else if args {
		b.WriteString(" [arguments...]")
	}
}

func renderAppHelp(b *strings.Builder, a *App, wrapAt int) {
	b.WriteString("NAME:\n   ")
	renderHelpName(b, a.HelpName, a.Usage, wrapAt)
	b.WriteString("\n\nUSAGE:\n   ")
	if a.UsageText != "" {
		b.WriteString(wrap(a.UsageText, 3, wrapAt))
	} else {
		b.WriteString(a.HelpName)
		b.WriteString(" ")
		if len(a.VisibleFlags()) > 0 {
			b.WriteString("[global options]")
		}
		if len(a.Commands) > 0 {
			b.WriteString(" command [command options]")
		}
		renderArgsUsage(b, a.ArgsUsage, a.Args)
	}
	if a.Version != "" && !a.HideVersion {
		b.WriteString("\n\nVERSION:\n   ")
		b.WriteString(a.Version)
	}
	if a.Description != "" {
		b.WriteString("\n\nDESCRIPTION:\n   ")
		b.WriteString(wrap(a.Description, 3, wrapAt))
	}
	if len(a.Authors) > 0 {
		b.WriteString("\n\nAUTHOR")
		if len(a.Authors) != 1 {
			b.WriteString("S")
		}
		b.WriteString(":\n   ")
		for i, au := range a.Authors {
			if i > 0 {
				b.WriteString("\n   ")
			}
			b.WriteString(au.String())
		}
	}
	if len(a.VisibleCommands()) > 0 {
		b.WriteString("\n\nCOMMANDS:")
		renderCommandCategories(b, a.VisibleCategories(), wrapAt)
	}
	renderFlagSection(b, "GLOBAL OPTIONS:", a.VisibleFlagCategories(), a.VisibleFlags(), wrapAt)
	if a.Copyright != "" {
		b.WriteString("\n\nCOPYRIGHT:\n   ")
		b.WriteString(wrap(a.Copyright, 3, wrapAt))
	}
	b.WriteString("\n")
}

// renderCommandHelp is CommandHelpTemplate, or SubcommandHelpTemplate when
// withCommands.
func renderCommandHelp(b *strings.Builder, c *Command, withCommands bool, wrapAt int) {
	b.WriteString("NAME:\n   ")
	renderHelpName(b, c.HelpName, c.Usage, wrapAt)
	b.WriteString("\n\nUSAGE:\n   ")
	if c.UsageText != "" {
		b.WriteString(wrap(c.UsageText, 3, wrapAt))
	} else {
		b.WriteString(c.HelpName)
		if len(c.VisibleFlags()) > 0 {
			b.WriteString(" [command options]")
		}
		renderArgsUsage(b, c.ArgsUsage, c.Args)
	}
	if c.Category != "" {
		b.WriteString("\n\nCATEGORY:\n   ")
		b.WriteString(c.Category)
	}
	if c.Description != "" {
		b.WriteString("\n\nDESCRIPTION:\n   ")
		b.WriteString(wrap(c.Description, 3, wrapAt))
	}
	if withCommands && len(c.VisibleCommands()) > 0 {
		b.WriteString("\n\nCOMMANDS:")
		renderCommandCategories(b, commandCategoriesOf(c), wrapAt)
	}
	renderFlagSection(b, "OPTIONS:", c.VisibleFlagCategories(), c.VisibleFlags(), wrapAt)
	b.WriteString("\n")
}

// renderCommandCategories is visibleCommandCategoryTemplate.
func renderCommandCategories(b *strings.Builder, cats []CommandCategory, wrapAt int) {
	for _, cat := range cats {
		if cat.Name() == "" {
			// visibleCommandTemplate
			cmds := cat.VisibleCommands()
			cv := offsetCommands(cmds, 5)
			for _, c := range cmds {
				s := strings.Join(c.Names(), ", ")
				b.WriteString("\n   ")
				b.WriteString(s)
				b.WriteString(indent(subtract(cv, offset(s, 3)), ""))
				b.WriteString(wrap(c.Usage, cv, wrapAt))
			}
			continue
		}
		b.WriteString("\n   ")
		b.WriteString(cat.Name())
		b.WriteString(":")
		for _, c := range cat.VisibleCommands() {
			b.WriteString("\n     ")
			b.WriteString(strings.Join(c.Names(), ", "))
			b.WriteString("\t")
			b.WriteString(c.Usage)
		}
	}
}

// renderFlagSection is the OPTIONS part of the templates: visibleFlagCategoryTemplate
// when there are categories, else visibleFlagTemplate.
func renderFlagSection(b *strings.Builder, title string, cats []VisibleFlagCategory, flags []Flag, wrapAt int) {
	switch {
	case len(cats) > 0:
		b.WriteString("\n\n")
		b.WriteString(title)
		for _, cat := range cats {
			b.WriteString("\n   ")
			if cat.Name() != "" {
				b.WriteString(cat.Name())
				b.WriteString("\n\n   ")
			}
			fl := cat.Flags()
			for i, f := range fl {
				b.WriteString(f.String())
				if i == len(fl)-1 {
					b.WriteString("\n")
				} else {
					b.WriteString("\n   ")
				}
			}
		}
	case len(flags) > 0:
		b.WriteString("\n\n")
		b.WriteString(title)
		for _, f := range flags {
			b.WriteString("\n   ")
			b.WriteString(wrap(f.String(), 6, wrapAt))
		}
	}
}

// renderFishCompletion is FishCompletionTemplate.
func renderFishCompletion(d *fishCompletionTemplate) string {
	var b strings.Builder
	name := d.App.Name
	b.WriteString("# " + name + " fish shell completion\n\n")
	b.WriteString("function __fish_" + name + "_no_subcommand --description 'Test if there has been any subcommand yet'\n")
	b.WriteString("    for i in (commandline -opc)\n        if contains -- $i")
	for _, c := range d.AllCommands {
		b.WriteString(" " + c)
	}
	b.WriteString("\n            return 1\n        end\n    end\n    return 0\nend\n\n")
	for _, c := range d.Completions {
		b.WriteString(c + "\n")
	}
	return b.String()
}

// commandCategoriesOf is c.VisibleCategories(), also for a command that has
// not run yet ('app help group'), whose categories are not set up: upstream's
// template fails there and prints the help without its COMMANDS list.
func commandCategoriesOf(c *Command) []CommandCategory {
	if c.categories != nil {
		return c.VisibleCategories()
	}
	cats := newCommandCategories()
	for _, sub := range c.Subcommands {
		cats.AddCommand(sub.Category, sub)
	}
	sort.Sort(cats.(*commandCategories))
	var ret []CommandCategory
	for _, cat := range cats.Categories() {
		if len(cat.VisibleCommands()) > 0 {
			ret = append(ret, cat)
		}
	}
	return ret
}
