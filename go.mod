module github.com/tcptrace/tcptrace

go 1.25
