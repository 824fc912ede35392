from zoo.cli import console

console()
