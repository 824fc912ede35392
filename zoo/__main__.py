from zoo.console import console

console()
