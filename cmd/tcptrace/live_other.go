//go:build !unix

package main

import "os"

// dropPrivileges does nothing where there are no Unix user IDs to switch.
func dropPrivileges(string) error { return nil }

func giveToSudoUser(string) {}

func terminalWidth(*os.File) int { return 0 }
