State     Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess
LISTEN    0      4096           [::1]:9000          [::]:*          
TIME-WAIT 0      0              [::1]:40001        [::1]:9000       
