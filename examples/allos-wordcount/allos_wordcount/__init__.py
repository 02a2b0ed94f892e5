"""allos-wordcount: an example Allos tool plugin.

The entry point ``allos.tools: wordcount = "allos_wordcount"`` names this module; the plugin
manager registers it and calls its hooks. Keep this module cheap to import: the tool itself is
imported inside the hook.
"""

from allos_core import hookimpl


@hookimpl
def allos_tools():
    """The tools this plugin offers."""
    from allos_wordcount.tool import word_count

    return [word_count]
