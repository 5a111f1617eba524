// Package testenv holds what the tests and the bench need and nothing that
// ships: stand-ins for the services acrsink talks to (armtest for Resource
// Manager and the managed identity, faultproxy for a misbehaving Cosmos DB,
// emulatortest for cosmium, functionshost for the Functions host), sample
// events (acrtest, eventgridtest), and the checks of what cannot run here
// (infracheck for infra/, cookbook for the documented queries). Everything
// else under internal/ is in a command's import graph (layout_test.go).
package testenv
