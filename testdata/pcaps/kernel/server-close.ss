State     Recv-Q Send-Q Local Address:Port Peer Address:Port Process
LISTEN    0      4096       127.0.0.1:9000      0.0.0.0:*           
TIME-WAIT 0      0          127.0.0.1:9000    127.0.0.1:40001       
