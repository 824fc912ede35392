from zoo.cli.console import console

console()
